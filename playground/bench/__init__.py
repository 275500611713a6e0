"""`manage.py bench …`: what each benchmark does to a real server, and the figures it prints."""
