-- The pixel classifier's second vote (issue 14): the child labels of a photo's nearest described
-- photos, mixed with the regression by knn_weight (0: the regression alone, as before). The
-- neighbours' vectors are read back from image_embeddings by name, so only names and labels are kept.
alter table policy_pixel_models add column knn_weight double default 0;
alter table policy_pixel_models add column knn_k integer default 25;
alter table policy_pixel_models add column knn_temperature double default 0.1;
alter table policy_pixel_models add column knn_images varchar[];
alter table policy_pixel_models add column knn_labels boolean[];
