"""With Sense reference-photo search: the library behind the `ws` command."""
