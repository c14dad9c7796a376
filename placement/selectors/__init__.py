"""Every read that a view, an API view, a task or a command needs, by concept (STYLE.md: reads in selectors).

- `registry`: the free-places registry and the city list;
- `protocols`: the published release protocols;
- `queue`: queue positions, the head of a queue and who of it may take priority places;
- `claims`: may this parent take this place now, and why not (the rule of DOMAIN.md, Places 3-4);
- `parents`: what a parent's cabinet shows (children, applications, referrals, contracts);
- `kindergartens`: what a kindergarten's staff pages show.

Selectors read and never write; services may use them, never the other way round (import-linter, pyproject.toml).
"""
