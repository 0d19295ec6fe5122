"""Prefect entry points: thin shells that open the store, call the engine or the
dispatcher, and return. No business rule lives here.

- ``flows.visitation.<definition id>``: the flow ``<id> · visitation``, one per definition;
- ``flows.dispatcher.dispatcher``: the flow ``iba · dispatcher``;
- ``flows.serve``: every deployment, for ``iba serve``.
"""
