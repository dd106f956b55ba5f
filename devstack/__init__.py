"""The whole stack on one machine without Docker: ``python -m devstack`` (what ``make run`` runs).

Starts the embedded MongoDB-wire server, Redis and a Media Service stand-in when their URLs are
not configured, then the three services and the Celery worker, and stops them all on Ctrl-C.
"""
