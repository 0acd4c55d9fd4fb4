"""What a proxy product's router and its metric source share, below both.

A router (``traffic/``) and a metric source (``metrics/``) of the same product read the same
configuration (Envoy's bucket bounds, HAProxy's server names), talk to the same admin interface
and run the same process; that shared part lives here so that ``traffic`` and ``metrics`` never
import each other: configuration rendering and parsing (``*_config.py``), admin clients
(``envoy_admin.py``, ``haproxy_api.py``), where a proxy's files live (``layout.py``), and one
way to launch, attach to and stop a proxy process (``lifecycle.py``).
"""
