"""The integration dashboard (``/dashboard``): its first-party OAuth client per tenant
(:mod:`~beamit.dashboard.workspaces`) and its static files (``static/``: plain JS modules
and CSS, no build step), served by :mod:`beamit.api.dashboard`. See docs/dashboard.md."""
