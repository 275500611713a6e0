"""Where the cluster is kept: the database backends the embedded default runs on."""
