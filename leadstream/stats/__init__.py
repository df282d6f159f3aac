"""The site owner's numbers: a Plausible-compatible Stats API over the warehouse.

``query`` validates a Plausible v2 request into a ``StatsQuery``; ``dates`` resolves its date range
in the site's timezone; ``plan`` turns it into parameterised SQL, over the hourly rollup
(``rollup``) where the query allows and over the exact views otherwise; ``engine`` runs a plan on
the warehouse and shapes Plausible's answer. All but ``engine`` are pure.
"""
