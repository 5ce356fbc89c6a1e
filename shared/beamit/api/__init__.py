"""HTTP handlers, one module per function (endpoint family).

Each module owns a :class:`beamit.web.Router`; ``functions/main.py`` dispatches to it.
Handlers parse the request, call the domain, and shape the response: no business rules.
"""
