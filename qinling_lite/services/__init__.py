"""Domain operations, one module per aggregate, over the repositories in ``qinling_lite.db``.

A service checks the domain's rules, runs the steps of an operation and undoes the
steps already taken when a later one fails. It takes what it needs as arguments (the
caller's context, config, package store, engine client, trusts) and knows nothing of
HTTP: the API's controllers parse requests, authorize, call a service and render what
it returns.
"""
