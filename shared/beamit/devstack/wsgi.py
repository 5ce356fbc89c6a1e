"""The dev server's WSGI callable: ``gunicorn beamit.devstack.wsgi:app``."""

from beamit.devstack.gateway import Gateway

app = Gateway()
