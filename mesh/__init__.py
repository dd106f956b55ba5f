"""Shared plumbing of the three PhotoFun gRPC servers.

One bootstrap for all of them (``mesh.server``), the domain error tree and its mapping to gRPC
status codes (``mesh.errors``, ``mesh.interceptors``), structured logging with the request id
(``mesh.logs``), the typed settings base (``mesh.settings``) and small helpers for outbound calls
(``mesh.deadlines``).
"""
