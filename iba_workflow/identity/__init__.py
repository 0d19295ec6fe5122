"""Who is asking and what they may do: sign-in (OpenID Connect, e-mail link), sessions,
API credentials and the policy.

Modules import nothing heavy at import time; the web app wires them in ``create_app``.
"""

from __future__ import annotations
