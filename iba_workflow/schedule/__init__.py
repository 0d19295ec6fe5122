"""Week schedules (issue 12): fixed commitments, free/busy from staff calendars, the
solver, meetings with several attendees, clashes, the printable week and the .ics feeds.

The solver (``schedule.solver.solve``) is a pure function over the plain data of
``schedule.model``; OR-Tools is imported only there. Importing this package loads
nothing heavy.
"""

from __future__ import annotations
