"""Who is asking and what they may do: e-mail sign-in, server-side sessions, API
credentials (bearer), rate limits and the policy (``identity.policy``), which every page
and API route goes through.

Modules import nothing heavy at import time; the web app wires them in ``create_app``.
"""

from __future__ import annotations
