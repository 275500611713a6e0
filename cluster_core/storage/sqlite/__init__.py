"""Django's SQLite backend with the process's writers taking turns in a queue of their own (see `base`)."""
