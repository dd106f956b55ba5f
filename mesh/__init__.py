"""Shared plumbing of the three PhotoFun gRPC servers.

One bootstrap for all of them (``mesh.server``), the domain error tree and its mapping to gRPC
status codes (``mesh.errors``, ``mesh.interceptors``), structured logging with the request id
(``mesh.logs``), the typed settings base (``mesh.settings``), the Media Service client with its
SSRF guard (``mesh.media``) and the circuit breaker for flaky upstreams (``mesh.circuit``).
"""
