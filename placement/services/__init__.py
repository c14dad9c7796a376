"""Every write of placement, by concept (STYLE.md: writes in services): `places` (release, withdraw, return),
`claims` (take a place), `referrals` (decline, enrol, expire, terminate), `applications` (the queue), `blocks`
(a cabinet block's effects), `daily` (the 18:00 run), `protocols` (publish and verify), `imports`."""
