"""The API-to-engine RPC.

``engine_api``: the contract, its version history and the oslo.messaging client the API
uses; ``in_process``: the same contract served by an engine in the same process;
``transport``: oslo.messaging setup shared with the engines' RPC server; ``call_pool``:
the threads RPC calls wait on, so that a missing broker cannot hold a request.
"""
