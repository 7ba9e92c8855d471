"""Seeded, realistic sample data: an invented email programme in the canonical data model.

The same generator makes the small ``sample_data/`` workspace shipped with the project and the
million-contact benchmark data, so everything here is vectorised with numpy: the only Python loops
run over campaigns, lists, tags or names, never over contacts or events.

How the data behaves
--------------------
- Contacts join over the two years before ``end``, faster lately; some joined in the last month.
- Every contact has a latent open propensity (a logit) that *drifts*: steady contacts keep it, some
  decline and some rise after a change point, and a few never open anything. New subscribers open
  a little more in their first weeks. So between ``end - 30 days`` and ``end`` some contacts slip,
  some rise and some are new, as in a real programme.
- Campaigns (one or two a week) go to the subscribed members of one or more lists, some to a random
  share of them (a promotion's hold-out group). A contact who unsubscribes or bounces does so at a
  campaign, gets that event, takes that status and receives nothing afterwards.
- Opens come hours to days after a send, sometimes more than once; clicks follow opens, yet a few
  percent of clicks have no open row (blocked tracking pixels), as real exports do.
- Engaged contacts order more.
- Machines are in the data as they are in real exports: about a third of contacts read mail in
  Apple Mail with Privacy Protection, whose proxy fetches every email seconds after it is sent
  (user agent ``Mozilla/5.0``, an address in Apple's ``17.0.0.0/8``) while the person's own opens
  are no longer seen; a third of the mailboxes at two corporate domains (``contoso.com``,
  ``fabrikam.com``) sit behind a link scanner that follows one to three links of every email within
  a second or two, seconds after delivery. Opens carry the reader's user agent and address, clicks their link.
  :func:`generate_sample_with_truth` says which events a machine made, so the classifier
  (:mod:`engagekit.data.machine`) can be measured against it.

Everything is invented: names are drawn from a built-in list, addresses are made up.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from engagekit.data.dataset import Dataset
from engagekit.data.io.canonical_writer import write_canonical
from engagekit.data.sample_winback import add_winback_test
from engagekit.data.schema import CSV_FILES, EVENT_TYPES, EmailStatus
from engagekit.timeutil import as_timestamp

SAMPLE_SEED = 7
"""Seed of the shipped ``sample_data/`` workspace."""

SAMPLE_END = "2026-11-30"
"""Reference time T of the shipped ``sample_data/`` workspace: the data ends there."""

# --- built-in vocabulary ------------------------------------------------------------------------

FIRST_NAMES: tuple[str, ...] = (
    "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas",
    "Daniel", "Matthew", "Andrew", "Kevin", "George", "Noah", "Liam", "Ethan", "Oliver", "Lucas",
    "Emma", "Olivia", "Ava", "Sophia", "Mia", "Amelia", "Harper", "Evelyn", "Emily", "Charlotte",
    "Isabella", "Grace", "Hannah", "Sarah", "Laura", "Chloé", "Zoë", "Léa", "Inès", "Camille",
    "Anaïs", "Élodie", "François", "Mathéo", "José", "Jesús", "Álvaro", "Sofía", "Lucía", "María",
    "Valentina", "Martina", "Andrés", "Joaquín", "Mateo", "Jürgen", "Jörg", "Björn", "Søren",
    "Ingrid", "Astrid", "Freya", "Maja", "Felix", "Siobhán", "Aoife", "Seán", "Niamh", "Ciarán",
    "Zofia", "Łukasz", "Agnieszka", "Paweł", "Katarzyna", "Giulia", "Francesca", "Luca", "Matteo",
    "Priya", "Arjun", "Ananya", "Rohan", "Aisha", "Omar", "Fatima", "Yusuf", "Layla", "Hamza",
    "Wei", "Mei", "Hiroshi", "Yuki", "Haruto", "Sakura", "Min-jun", "Ji-woo", "Kwame", "Amara",
    "Chidi", "Ngozi", "Thabo", "Zanele",
)

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernández", "López", "González", "Wilson", "Anderson", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Pérez", "Thompson", "White", "Harris", "Sánchez", "Clark",
    "Ramírez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres",
    "Nguyen", "Hill", "Flores", "Green", "Adams", "Baker", "Campbell", "Mitchell", "Carter",
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schäfer",
    "Groß", "Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Bonnet", "Mercier", "Rossi",
    "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "O'Brien", "O'Connor", "Murphy", "Kelly",
    "Byrne", "Kowalski", "Nowak", "Wiśniewski", "Wójcik", "Jensen", "Nielsen", "Hansen",
    "Søndergaard", "Andersson", "Johansson", "Lindqvist", "Patel", "Sharma", "Singh", "Kumar",
    "Khan", "Kim", "Park", "Chen", "Wang", "Tanaka", "Suzuki", "Okafor", "Mensah", "Dlamini",
    "da Silva", "Gonçalves", "van der Berg", "de Vries",
)

# Free-mail providers dominate real lists; the business domains are the well-known fictitious
# companies used in product demos.
EMAIL_DOMAINS: dict[str, float] = {
    "gmail.com": 0.31, "outlook.com": 0.10, "yahoo.com": 0.08, "icloud.com": 0.08,
    "hotmail.com": 0.07, "gmx.de": 0.04, "web.de": 0.03, "orange.fr": 0.03, "proton.me": 0.03,
    "aol.com": 0.02, "libero.it": 0.02, "contoso.com": 0.05, "fabrikam.com": 0.04,
    "northwindtraders.com": 0.04, "adventure-works.com": 0.03, "wingtiptoys.com": 0.03,
}

CITIES: tuple[str, ...] = (
    "London", "New York", "Berlin", "Paris", "Madrid", "Toronto", "Chicago", "Manchester",
    "München", "Zürich", "Wien", "Köln", "Montréal", "São Paulo", "Bogotá", "México City",
    "Kraków", "Göteborg", "Malmö", "København", "Dublin", "Amsterdam", "Rotterdam", "Brussels",
    "Lyon", "Marseille", "Barcelona", "Sevilla", "Lisbon", "Porto", "Milan", "Rome", "Stockholm",
    "Oslo", "Helsinki", "Warsaw", "Prague", "Austin", "Seattle", "San Francisco", "Boston",
    "Sydney", "Melbourne", "Auckland", "Cape Town", "Lagos", "Nairobi", "Mumbai", "Singapore",
    "Tokyo",
)

# --- model constants ----------------------------------------------------------------------------

_SECOND = 1_000_000  # every time is int64 microseconds since the epoch, like datetime64[us]
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_NEVER = np.iinfo(np.int64).max

_HISTORY_DAYS = 730  # contacts join over (at least) the two years before `end`
_GROWTH = 1.0  # growth rate of sign-ups over that span: higher means more recent contacts

# How a contact's open propensity drifts, and the share of contacts of each kind.
_STEADY, _DECLINING, _RISING, _SILENT = range(4)
_KIND_SHARES = (0.56, 0.20, 0.13, 0.11)
# How a contact leaves the programme (0: it stays).
_STAYS, _UNSUBSCRIBES, _BOUNCES = range(3)
_STATUS_NAMES = np.array(
    [EmailStatus.SUBSCRIBED.value, EmailStatus.UNSUBSCRIBED.value, EmailStatus.BOUNCED.value],
    dtype=object,
)

# Lists: name, share of contacts in it, share of members who joined it when they signed up
# (the others joined later). VIP members are picked among engaged contacts; the spring promotion
# list only gathers people during that spring.
_NEWSLETTER, _PRODUCT, _VIP, _WEBINAR, _WHOLESALE, _SPRING = range(6)
_LISTS: tuple[tuple[str, float, float], ...] = (
    ("Newsletter", 0.35, 0.85),
    ("Product updates", 0.28, 0.60),
    ("VIP customers", 0.05, 0.0),
    ("Webinar attendees", 0.10, 0.0),
    ("Wholesale", 0.04, 0.90),
    ("Spring promo {year}", 0.25, 0.0),
)

_STAGES = ("contacts", "lists and tags", "campaigns", "audiences", "opens and clicks", "orders",
           "tables", "machines", "win-back test")

# Apple Mail Privacy Protection: who uses it, by address domain (iCloud addresses mostly read in
# Apple Mail; corporate mail mostly in Outlook), and what its proxy looks like.
_APPLE_MAIL_SHARE = {"icloud.com": 0.9, "contoso.com": 0.05, "fabrikam.com": 0.05}
_APPLE_MAIL_SHARE_ELSEWHERE = 0.3
_PROXY_AGENT = "Mozilla/5.0"
_SCANNED_DOMAINS = ("contoso.com", "fabrikam.com")
_READER_AGENTS = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36",
    "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
)
_LINKS_PER_EMAIL = 4

MACHINE_TRUTH: tuple[str, ...] = ("", "machine_open", "scanner_click")
"""Values of the truth from :func:`generate_sample_with_truth`: a person's event, or a machine's."""


# --- public API ---------------------------------------------------------------------------------


def generate_sample(
    n_contacts: int = 5000,
    *,
    seed: int = SAMPLE_SEED,
    end: str | pd.Timestamp = SAMPLE_END,
    months: int = 12,
    show_progress: bool = False,
) -> Dataset:
    """Generate a realistic, reproducible email-marketing dataset.

    Parameters
    ----------
    n_contacts
        Number of contacts. The data grows linearly with it: about 20 email events per contact
        with 12 months of campaigns, so a million contacts make about 20 million events.
    seed
        Seed of the random generator; the same seed gives identical frames.
    end
        Where the data ends (naive UTC), the natural reference time T: campaigns are sent before
        it and no event happens after it.
    months
        How many months of campaigns precede ``end``.
    show_progress
        Show a progress bar of the generation stages on standard error.

    Returns
    -------
    Dataset
        Contacts (with custom fields ``city``, ``loyalty_points`` and ``birthday``), tags, lists
        and memberships, campaigns, email events and orders.

    Examples
    --------
    >>> ds = generate_sample(300, seed=1)
    >>> ds.n_contacts, sorted(ds.custom_fields)
    (300, ['birthday', 'city', 'loyalty_points'])
    >>> bool(ds.email_events["occurred_at"].max() < pd.Timestamp("2026-11-30"))
    True
    >>> generate_sample(300, seed=1).email_events.equals(ds.email_events)
    True
    """
    return generate_sample_with_truth(
        n_contacts, seed=seed, end=end, months=months, show_progress=show_progress)[0]


def generate_sample_with_truth(
    n_contacts: int = 5000,
    *,
    seed: int = SAMPLE_SEED,
    end: str | pd.Timestamp = SAMPLE_END,
    months: int = 12,
    show_progress: bool = False,
) -> tuple[Dataset, np.ndarray]:
    """:func:`generate_sample`, with the generator's truth about machine events.

    Returns
    -------
    Dataset
        Exactly what :func:`generate_sample` returns for the same arguments.
    numpy.ndarray of str
        For each row of ``email_events``: ``"machine_open"`` (Apple's proxy fetched it),
        ``"scanner_click"`` (a link scanner followed the link) or ``""`` (a person did it).

    Examples
    --------
    >>> ds, truth = generate_sample_with_truth(300, seed=1)
    >>> len(truth) == len(ds.email_events), sorted(set(truth)) == sorted(MACHINE_TRUTH)
    (True, True)
    """
    if n_contacts < 1:
        raise ValueError(f"n_contacts must be at least 1 (got {n_contacts})")
    if months < 1:
        raise ValueError(f"months must be at least 1 (got {months})")
    end_ts = as_timestamp(end, name="end")
    start_ts = end_ts - pd.DateOffset(months=months)
    end_us = _micros(end_ts)
    # One child stream per stage, so that changing how one table is drawn leaves the others alone.
    streams = iter(np.random.Generator(np.random.PCG64(seed)).spawn(len(_STAGES)))

    with _progress(show_progress) as stage:
        stage("contacts")
        rng = next(streams)
        # The list is at least two years old, and older than the campaign history.
        history = max(_HISTORY_DAYS, int(months * 30.5) + 60) * _DAY
        date_added = _date_added(rng, n_contacts, end_us, history)
        people = _people(rng, n_contacts)
        behaviour = _behaviour(rng, date_added, _micros(start_ts), end_us)

        stage("lists and tags")
        rng = next(streams)
        spring_year = end_ts.year if end_ts.month >= 6 else end_ts.year - 1
        joined = _list_joins(rng, date_added, behaviour, end_us, spring_year)
        lists, memberships = _list_tables(joined, spring_year)
        contact_tags = _tags(rng, joined, webinar_year=end_ts.year)

        stage("campaigns")
        plan = _campaign_plan(next(streams), start_ts, end_ts)

        stage("audiences")
        sends = _sends(next(streams), plan, joined, behaviour)

        stage("opens and clicks")
        email_events = _events(next(streams), plan, sends, behaviour, date_added, end_us)

        stage("orders")
        rng = next(streams)
        orders = _orders(rng, date_added, behaviour, joined[_WHOLESALE] != _NEVER, end_us)
        fields = _custom_fields(rng, orders, n_contacts)

        stage("machines")
        email_events, truth = _machines(next(streams), email_events, plan, people["email"], end_us)

        stage("tables")
        status = np.where(sends.left_at >= 0, behaviour.leaves, behaviour.left_before)
        contacts = pd.DataFrame({
            "contact_id": np.arange(1, n_contacts + 1, dtype=np.int64),
            **people,
            "date_added": date_added.view("datetime64[us]"),
            "email_status": _STATUS_NAMES[status],
            **fields,
        })
        tables = {
            "contacts": contacts,
            "contact_tags": contact_tags,
            "lists": lists,
            "list_memberships": memberships,
            "campaigns": plan.frame(),
            "email_events": email_events,
            "orders": orders,
        }
        stage("win-back test")
        tables = add_winback_test(next(streams), tables, end_ts)
        # the win-back test's events are people's: they extend the truth with blanks
        truth = np.concatenate([truth, np.full(len(tables["email_events"]) - len(truth), "")])
        dataset = Dataset.from_frames(
            **{name: _whole_seconds(frame) for name, frame in tables.items()},
            custom_fields={"city": "text", "loyalty_points": "number", "birthday": "date"},
        )
        return dataset, truth


def _whole_seconds(frame: pd.DataFrame) -> pd.DataFrame:
    """Times cut to the second, as email tools export them (so the CSV layout round-trips)."""
    times = frame.select_dtypes("datetime").columns
    return frame.assign(**{name: frame[name].dt.floor("s") for name in times}) if len(times) else frame


def write_sample(
    folder: str | Path,
    n_contacts: int = 5000,
    seed: int = SAMPLE_SEED,
    end: str | pd.Timestamp = SAMPLE_END,
    *,
    show_progress: bool = False,
) -> Path:
    """Generate sample data and write it in the canonical CSV layout, with a README.

    The events file is gzip-compressed (``email_events.csv.gz``). The README records the seed,
    the number of contacts, the end date and the command that makes the folder again.

    Parameters
    ----------
    folder
        Where to write (created if needed; files of the layout already there are replaced).
    n_contacts, seed, end
        As for :func:`generate_sample`.
    show_progress
        Show a progress bar while generating.

    Returns
    -------
    Path
        The folder.

    Examples
    --------
    >>> import tempfile
    >>> folder = write_sample(tempfile.mkdtemp(), n_contacts=200)
    >>> sorted(path.name for path in folder.iterdir())[:3]
    ['README.md', 'campaigns.csv', 'contacts.csv']
    >>> len(pd.read_csv(folder / "contacts.csv"))
    200
    """
    folder = Path(folder)
    dataset = generate_sample(n_contacts, seed=seed, end=end, show_progress=show_progress)
    write_canonical(dataset, folder, compress_events=True)
    readme = _readme(dataset, folder, seed=seed, end=as_timestamp(end, name="end"))
    (folder / "README.md").write_text(readme, encoding="utf-8")
    return folder


# --- contacts -----------------------------------------------------------------------------------


def _micros(stamp: pd.Timestamp) -> int:
    return int(np.datetime64(stamp, "us").astype(np.int64))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _date_added(rng: np.random.Generator, n: int, end_us: int, span: int) -> np.ndarray:
    """Sign-up times over ``span`` (us) before ``end``, denser lately: the list is growing."""
    # Inverse CDF of a density proportional to exp(GROWTH * x) for x in [0, 1].
    x = np.log1p(rng.random(n) * np.expm1(_GROWTH)) / _GROWTH
    added = np.minimum(end_us - span + (x * span).astype(np.int64), end_us - _MINUTE)
    # Whole seconds, as exports carry them; sorted because ids grow with sign-up time.
    return np.sort(added - added % _SECOND)


def _ascii_slug(name: str) -> str:
    """How a name appears in an e-mail address: 'Müller' -> 'muller', "O'Brien" -> 'obrien'."""
    special = str.maketrans({"ß": "ss", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "æ": "ae"})
    plain = unicodedata.normalize("NFKD", name.translate(special)).lower()
    return "".join(ch for ch in plain if "a" <= ch <= "z")


def _name_choice(rng: np.random.Generator, names: tuple[str, ...], n: int) -> np.ndarray:
    # Name frequencies are long-tailed; a shuffled order keeps the common ones from being just
    # the first few listed.
    weights = 1.0 / (np.arange(len(names)) + 12.0)
    return rng.permutation(len(names))[rng.choice(len(names), n, p=weights / weights.sum())]


def _people(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """First and last names (a few blank) and unique lower-case e-mail addresses."""
    fi = _name_choice(rng, FIRST_NAMES, n)
    li = _name_choice(rng, LAST_NAMES, n)
    first_slugs = [_ascii_slug(name) for name in FIRST_NAMES]
    last_slugs = [_ascii_slug(name) for name in LAST_NAMES]
    first = np.array(first_slugs, dtype=object)[fi]
    last = np.array(last_slugs, dtype=object)[li]
    first_initial = np.array([slug[0] for slug in first_slugs], dtype=object)[fi]
    last_initial = np.array([slug[0] for slug in last_slugs], dtype=object)[li]
    two_digits = np.array([f"{i:02d}" for i in range(100)], dtype=object)

    def year_of_birth(m: np.ndarray) -> np.ndarray:
        return two_digits[rng.integers(60, 100, m.sum())]

    patterns = (  # share, local part from the rows selected by a mask
        (0.34, lambda m: first[m] + "." + last[m]),
        (0.14, lambda m: first[m] + last[m]),
        (0.10, lambda m: first_initial[m] + last[m]),
        (0.08, lambda m: first[m] + "_" + last[m]),
        (0.07, lambda m: first[m] + last_initial[m]),
        (0.15, lambda m: first[m] + "." + last[m] + year_of_birth(m)),
        (0.05, lambda m: last[m] + "." + first[m]),
        (0.07, lambda m: first[m] + year_of_birth(m)),
    )
    pattern = rng.choice(len(patterns), n, p=[share for share, _ in patterns])
    local = np.empty(n, dtype=object)
    for number, (_, build) in enumerate(patterns):
        mask = pattern == number
        local[mask] = build(mask)
    shares = np.array(list(EMAIL_DOMAINS.values()))
    domain = np.array(list(EMAIL_DOMAINS), dtype=object)[
        rng.choice(len(shares), n, p=shares / shares.sum())
    ]
    # Common names add digits until the address is free, as mail providers make people do.
    digits = np.array(list("0123456789"), dtype=object)
    while (taken := pd.Series(local + "@" + domain).duplicated().to_numpy()).any():
        local[taken] = local[taken] + digits[rng.integers(0, 10, taken.sum())]

    first_name = np.array(FIRST_NAMES, dtype=object)[fi]
    last_name = np.array(LAST_NAMES, dtype=object)[li]
    first_name[rng.random(n) < 0.01] = None
    last_name[rng.random(n) < 0.03] = None
    return {"email": local + "@" + domain, "first_name": first_name, "last_name": last_name}


@dataclass(frozen=True)
class _Behaviour:
    """Latent, per-contact behaviour: how likely it opens, and when, how it leaves."""

    base: np.ndarray  # open logit before any drift
    shift: np.ndarray  # change of the open logit once the change point has passed
    turn_at: np.ndarray  # change point (us)
    ramp: np.ndarray  # how long the change takes (us)
    click: np.ndarray  # click logit, given an open
    leaves: np.ndarray  # _STAYS, _UNSUBSCRIBES or _BOUNCES at the first campaign after leaves_at
    leaves_at: np.ndarray  # us, _NEVER for contacts who stay
    left_before: np.ndarray  # status taken outside any campaign (preference centre, list clean-up)

    def open_logit(self, contact: np.ndarray, at: np.ndarray, added: np.ndarray) -> np.ndarray:
        """The open logit of each contact at each time (arrays of one length)."""
        logit = (at - self.turn_at[contact]).astype(np.float64)
        logit /= self.ramp[contact]
        np.clip(logit, 0.0, 1.0, out=logit)
        logit *= self.shift[contact]
        # New subscribers are curious: a boost that fades over their first weeks.
        fresh = (at - added[contact]).astype(np.float64)
        fresh /= -40 * _DAY
        np.exp(fresh, out=fresh)
        logit += 0.8 * fresh
        logit += self.base[contact]
        return logit


def _behaviour(
    rng: np.random.Generator, added: np.ndarray, start_us: int, end_us: int
) -> _Behaviour:
    """Each contact's latent behaviour (see :class:`_Behaviour`)."""
    n = added.size
    kind = rng.choice(4, n, p=_KIND_SHARES)
    declining, rising, silent = kind == _DECLINING, kind == _RISING, kind == _SILENT
    base = rng.normal(-1.3, 1.0, n)
    base[declining] += 0.8  # only the engaged have far to fall
    base[rising] -= 1.2
    base[silent] = -40.0  # never opens: the probability underflows to zero
    shift = np.zeros(n)
    shift[declining] = -rng.uniform(1.5, 3.5, declining.sum())
    shift[rising] = rng.uniform(1.5, 3.0, rising.sum())
    # Half the change points fall in the last five months so that the most recent windows
    # (previous level as of T - 30 days, current as of T) see contacts slipping and rising.
    recent = rng.random(n) < 0.5
    turn_at = np.where(
        recent,
        rng.integers(end_us - 150 * _DAY, end_us - 5 * _DAY, n),
        rng.integers(start_us, end_us, n),
    )
    ramp = rng.integers(5 * _DAY, 40 * _DAY, n)
    click = rng.normal(-1.7, 0.6, n) + 0.3 * np.clip(base + 1.3, -3.0, 3.0)

    # Leaving: fading interest ends in an unsubscribe more often; bad addresses bounce and never
    # opened anyway.
    p_unsubscribe = np.array([0.04, 0.14, 0.02, 0.08])[kind]
    p_bounce = np.where(silent, 0.08, 0.025)
    draw = rng.random(n)
    leaves = np.select([draw < p_unsubscribe, draw < p_unsubscribe + p_bounce],
                       [_UNSUBSCRIBES, _BOUNCES], _STAYS).astype(np.int8)
    # Leaving may be planned after `end`: those contacts simply stay subscribed in the data.
    first_chance = np.maximum(added, start_us)
    chance = rng.random(n) * (end_us + 60 * _DAY - first_chance)
    leaves_at = first_chance + chance.astype(np.int64)
    after_turn = turn_at + rng.integers(0, 90 * _DAY, n)
    leaves_at = np.where(declining, np.maximum(after_turn, added), leaves_at)
    leaves_at[leaves == _STAYS] = _NEVER

    draw = rng.random(n)
    left_before = np.select([draw < 0.015, draw < 0.022], [_UNSUBSCRIBES, _BOUNCES], _STAYS)
    return _Behaviour(base, shift, turn_at, ramp, click, leaves, leaves_at,
                      left_before.astype(np.int8))


def _custom_fields(rng: np.random.Generator, orders: pd.DataFrame, n: int) -> dict[str, np.ndarray]:
    """``city`` (text), ``loyalty_points`` (number) and ``birthday`` (date), each with blanks."""
    weights = 1.0 / (np.arange(len(CITIES)) + 3.0)
    city = np.array(CITIES, dtype=object)[rng.choice(len(CITIES), n, p=weights / weights.sum())]
    city[rng.random(n) < 0.12] = None

    # Points: one per unit spent plus sign-up bonuses; customers join the programme more often.
    spent = np.bincount(orders["contact_id"].to_numpy() - 1, orders["amount"].to_numpy(), n)
    member = rng.random(n) < np.where(spent > 0, 0.8, 0.45)
    points = np.floor(spent) + 50.0 * rng.integers(0, 5, n)
    points[~member] = np.nan

    born = rng.integers(
        np.datetime64("1950-01-01", "D").astype(np.int64),
        np.datetime64("2006-01-01", "D").astype(np.int64),
        n,
    ).astype("datetime64[D]").astype("datetime64[us]")
    born[rng.random(n) < 0.35] = np.datetime64("NaT")
    return {"city": city, "loyalty_points": points, "birthday": born}


# --- lists and tags -----------------------------------------------------------------------------


def _list_joins(
    rng: np.random.Generator,
    added: np.ndarray,
    behaviour: _Behaviour,
    end_us: int,
    spring_year: int,
) -> list[np.ndarray]:
    """For each list, when each contact joined it (``_NEVER`` for non-members)."""
    n = added.size
    member = [rng.random(n) < share for _, share, _ in _LISTS]
    # People tend to sign up for either the newsletter or the product updates, rarely both.
    newsletter_share, product_share = _LISTS[_NEWSLETTER][1], _LISTS[_PRODUCT][1]
    both = 0.15
    rest = (product_share - both * newsletter_share) / (1.0 - newsletter_share)
    member[_PRODUCT] = rng.random(n) < np.where(member[_NEWSLETTER], both, rest)
    # VIPs are the engaged customers: membership odds grow with the open propensity.
    odds = np.exp(0.8 * np.clip(behaviour.base, -4.0, 3.0))
    member[_VIP] = rng.random(n) < _LISTS[_VIP][1] * odds / odds.mean()

    at_signup = added + rng.integers(0, 2 * _MINUTE, n)
    joins = []
    for number, (_, _, signup_share) in enumerate(_LISTS):
        later = added + (rng.random(n) * (end_us - added)).astype(np.int64)
        at = np.where(rng.random(n) < signup_share, at_signup, later)
        joins.append(np.where(member[number], np.minimum(at, end_us - _SECOND), _NEVER))
    # The spring promotion gathered people between March and May only.
    spring, summer = (_micros(pd.Timestamp(f"{spring_year}-{month:02d}-01")) for month in (3, 6))
    since = np.maximum(added, spring)
    at = since + (rng.random(n) * (summer - since)).astype(np.int64)
    joins[_SPRING] = np.where(member[_SPRING] & (added < summer) & (at < end_us), at, _NEVER)
    return joins


def _list_tables(joins: list[np.ndarray], spring_year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    lists = pd.DataFrame({
        "list_id": np.arange(1, len(_LISTS) + 1, dtype=np.int64),
        "name": [name.format(year=spring_year) for name, _, _ in _LISTS],
    })
    members = [np.flatnonzero(at != _NEVER) for at in joins]
    memberships = pd.DataFrame({
        "list_id": np.repeat(lists["list_id"].to_numpy(), [m.size for m in members]),
        "contact_id": np.concatenate(members).astype(np.int64) + 1,
        "added_at": np.concatenate([at[m] for at, m in zip(joins, members, strict=True)])
        .view("datetime64[us]"),
    })
    return lists, memberships


def _tags(rng: np.random.Generator, joins: list[np.ndarray], webinar_year: int) -> pd.DataFrame:
    """0 to 3 tags per contact, mostly echoing the lists it is in."""
    member = [at != _NEVER for at in joins]
    n = member[0].size
    tags = {  # tag: probability for each contact
        "vip": np.where(member[_VIP], 0.9, 0.004),
        "newsletter": np.where(member[_NEWSLETTER], 0.35, 0.02),
        f"webinar-{webinar_year}": np.where(member[_WEBINAR], 0.7, 0.01),
        "wholesale": np.where(member[_WHOLESALE], 0.85, 0.003),
        "event-attendee": np.full(n, 0.07),
    }
    has = np.column_stack([rng.random(n) < p for p in tags.values()])
    # At most three tags: keep the first three in a random order of each row's tags.
    order = np.argsort(rng.random(has.shape), axis=1)
    shuffled = np.take_along_axis(has, order, axis=1)
    keep = np.zeros_like(has)
    np.put_along_axis(keep, order, shuffled & (np.cumsum(shuffled, axis=1) <= 3), axis=1)
    contact, tag = np.nonzero(keep)
    return pd.DataFrame({
        "contact_id": contact.astype(np.int64) + 1,
        "tag": np.array(list(tags), dtype=object)[tag],
    })


# --- campaigns ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """The campaigns in send order, with their audiences and how appealing they are."""

    names: list[str]
    sent_at: np.ndarray  # us
    lists: list[tuple[int, ...]]  # audience: subscribed members of any of these lists
    share: np.ndarray  # share of the audience actually sent to (the rest is a hold-out group)
    open_effect: np.ndarray  # subject line: shifts the open logit
    click_effect: np.ndarray  # content: shifts the click logit

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "campaign_id": np.arange(1, len(self.names) + 1, dtype=np.int64),
            "name": self.names,
            "sent_at": self.sent_at.view("datetime64[us]"),
        })


_PROMOTIONS = {
    1: "New year offers", 2: "Valentine's picks", 3: "Spring promo", 4: "Easter weekend deals",
    5: "Spring promo: last call", 6: "Summer sale", 7: "Summer sale: final days",
    8: "Back to school", 9: "Autumn collection preview", 10: "Autumn sale",
    12: "Holiday gift guide",
}
_WEBINARS = ("Segmenting by engagement", "Email deliverability basics",
             "Planning your holiday campaigns", "Automations that convert")


def _campaign_plan(rng: np.random.Generator, start: pd.Timestamp, end: pd.Timestamp) -> _Plan:
    """One or two campaigns a week: a digest, product news, promotions and a few niche sends."""
    rows: list[tuple[pd.Timestamp, str, tuple[int, ...], float, str]] = []

    def add(day: pd.Timestamp, hour: float, name: str, lists: tuple[int, ...], *,
            share: float = 1.0, kind: str = "") -> None:
        rows.append((day + pd.Timedelta(hours=hour), name, lists, share, kind))

    def days(freq: str, months: tuple[int, ...] = tuple(range(1, 13))) -> list[pd.Timestamp]:
        # From a month early: a campaign scheduled before `start` may still go out after it.
        span = pd.date_range(start.normalize() - pd.DateOffset(months=1), end, freq=freq)
        return [day for day in span if day.month in months]

    tuesdays = days("W-TUE")
    # No digest in the holiday week, and a few skipped weeks: a fixed number of them, so that the
    # volume of data does not depend on the seed.
    skipped = set(rng.choice(len(tuesdays), round(0.06 * len(tuesdays)), replace=False).tolist())
    for number, day in enumerate(tuesdays):
        if number not in skipped and not (day.month == 12 and day.day > 22):
            add(day, 8, "Weekly digest", (_NEWSLETTER,), kind="digest")
    for day in days("WOM-1WED"):
        add(day, 15, f"Product news: {day:%B %Y}", (_PRODUCT,))
    for day in days("WOM-3THU", months=(1, 2, 4, 6, 7, 8, 9, 10, 12)):
        # Promotions keep a hold-out half of the audience to measure their effect.
        add(day, 11, _PROMOTIONS[day.month], (_NEWSLETTER, _PRODUCT), share=0.5, kind="promo")
    for day in days("WOM-3THU", months=(3, 5)):
        add(day, 11, _PROMOTIONS[day.month], (_NEWSLETTER, _PRODUCT, _SPRING), share=0.5,
            kind="promo")
    for thanksgiving in days("WOM-4THU", months=(11,)):
        friday = thanksgiving + pd.Timedelta(days=1)
        everyone = (_NEWSLETTER, _PRODUCT, _VIP)
        add(friday - pd.Timedelta(days=4), 10, "Black Friday early access", (_VIP,), kind="promo")
        add(friday, 7, "Black Friday is here", everyone, share=0.8, kind="promo")
        # Sunday evening: with the default end of month, recipients have not reacted yet.
        add(friday, 2 * 24 + 18, "Black Friday weekend: final hours", everyone, share=0.8,
            kind="promo")
    for day in days("WOM-2WED", months=(2, 4, 6, 8, 10, 12)):
        add(day, 17, f"VIP preview: {day:%B}", (_VIP,))
    for day in days("WOM-2TUE", months=(2, 5, 8, 11)):
        add(day, 16, f"Webinar invitation: {_WEBINARS[(day.month - 2) // 3]}", (_PRODUCT, _WEBINAR))
    for day in days("WOM-1MON", months=(1, 4, 7, 10)):
        add(day, 7, f"Wholesale price list Q{(day.month + 2) // 3} {day.year}", (_WHOLESALE,))

    frame = pd.DataFrame(rows, columns=["sent_at", "name", "lists", "share", "kind"])
    # Senders schedule on the hour but big sends go out over the following minutes.
    frame["sent_at"] += pd.to_timedelta(rng.integers(0, 50 * 60, len(frame)), unit="s")
    frame = frame[(frame["sent_at"] >= start) & (frame["sent_at"] < end)]
    frame = frame.sort_values("sent_at", kind="stable").reset_index(drop=True)
    digest = frame["kind"] == "digest"
    issue = pd.Series(np.arange(1, digest.sum() + 1), index=frame.index[digest])
    frame.loc[digest, "name"] += " #" + issue.astype(str)
    # A name that comes back every year gets its year, so that each campaign reads distinctly.
    repeated = frame["name"].duplicated(keep=False)
    frame.loc[repeated, "name"] += " " + frame.loc[repeated, "sent_at"].dt.year.astype(str)

    c = len(frame)
    promo = (frame["kind"] == "promo").to_numpy()
    return _Plan(
        names=frame["name"].tolist(),
        sent_at=frame["sent_at"].to_numpy().astype("datetime64[us]").view(np.int64),
        lists=frame["lists"].tolist(),
        share=frame["share"].to_numpy(dtype=np.float64),
        open_effect=rng.normal(0.0, 0.3, c) + 0.2 * promo,
        click_effect=rng.normal(0.0, 0.35, c) + 0.4 * promo,
    )


# --- email events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sends:
    contact: np.ndarray  # contact position (int32), one per send, grouped by campaign
    campaign: np.ndarray  # campaign position (int32)
    left_at: np.ndarray  # per contact: position of the campaign it left at, -1 if none


def _sends(rng: np.random.Generator, plan: _Plan, joins: list[np.ndarray],
           behaviour: _Behaviour) -> _Sends:
    """Who receives each campaign: subscribed members of its lists who joined before it.

    Campaigns are walked in send order (a few dozen steps, each vectorised over contacts) because
    a contact who unsubscribes or bounces at one campaign must not receive the later ones.
    """
    n = joins[0].size
    subscribed = behaviour.left_before == _STAYS
    left_at = np.full(n, -1, dtype=np.int32)
    reached: list[np.ndarray] = []
    for k, sent_at in enumerate(plan.sent_at):
        since = np.minimum.reduce([joins[number] for number in plan.lists[k]])
        audience = np.flatnonzero((since <= sent_at) & subscribed)
        if plan.share[k] < 1.0:
            audience = audience[rng.random(audience.size) < plan.share[k]]
        leaving = audience[behaviour.leaves_at[audience] <= sent_at]
        subscribed[leaving] = False
        left_at[leaving] = k
        reached.append(audience.astype(np.int32))
    sizes = [audience.size for audience in reached]
    campaign = np.repeat(np.arange(len(reached), dtype=np.int32), sizes)
    contact = np.concatenate(reached) if reached else np.empty(0, dtype=np.int32)
    return _Sends(contact, campaign, left_at)


def _delay(rng: np.random.Generator, size: int, median: int, spread: float, cap: int) -> np.ndarray:
    """Log-normal waiting times (us): most are short, a few very long."""
    waits = rng.lognormal(np.log(median), spread, size)
    return np.minimum(waits, cap).astype(np.int64) + _SECOND


def _nth(counts: np.ndarray) -> np.ndarray:
    """0, 1, ... within each run of ``np.repeat(..., counts)``."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)


def _events(
    rng: np.random.Generator,
    plan: _Plan,
    sends: _Sends,
    behaviour: _Behaviour,
    added: np.ndarray,
    end_us: int,
) -> pd.DataFrame:
    """Send, open, click, bounce and unsubscribe rows, in time order, none after ``end``."""
    contact, campaign = sends.contact, sends.campaign
    sent_at = plan.sent_at[campaign]
    leaving = np.where(sends.left_at[contact] == campaign, behaviour.leaves[contact], _STAYS)

    logit = behaviour.open_logit(contact, sent_at, added)
    logit += plan.open_effect[campaign]
    opened = rng.random(contact.size) < _sigmoid(logit)
    del logit
    opened &= leaving != _BOUNCES
    # Unsubscribing means following the link in the email, so most of those sends show an open.
    opened |= (leaving == _UNSUBSCRIBES) & (rng.random(contact.size) < 0.7)
    o = np.flatnonzero(opened)
    del opened
    first_open = sent_at[o] + _delay(rng, o.size, 3 * _HOUR, 1.5, 10 * _DAY)

    click_logit = behaviour.click[contact[o]] + plan.click_effect[campaign[o]]
    clicked = rng.random(o.size) < _sigmoid(click_logit)
    opens = 1 + np.where(rng.random(o.size) < 0.15, rng.geometric(0.55, o.size), 0)
    # Blocked tracking pixels: the click is recorded, the open is not.
    opens[clicked & (rng.random(o.size) < 0.04)] = 0
    open_of = np.repeat(np.arange(o.size), opens)
    open_at = first_open[open_of] + np.where(
        _nth(opens) > 0, _delay(rng, open_of.size, 20 * _HOUR, 1.2, 20 * _DAY), 0)

    c = np.flatnonzero(clicked)
    clicks = 1 + (rng.random(c.size) < 0.15)
    click_of = np.repeat(c, clicks)
    click_at = (first_open[click_of] + _delay(rng, click_of.size, 40 * _SECOND, 1.0, 2 * _HOUR)
                + _nth(clicks) * _delay(rng, click_of.size, 3 * _MINUTE, 1.0, _DAY))

    # An unsubscribe follows its tracked open by a few minutes, or comes some hours after the send.
    u = np.flatnonzero(leaving == _UNSUBSCRIBES)
    position = np.searchsorted(o, u)
    seen = position < o.size
    seen[seen] = o[position[seen]] == u[seen]
    unsubscribe_at = sent_at[u] + _delay(rng, u.size, 6 * _HOUR, 1.0, 5 * _DAY)
    unsubscribe_at[seen] = first_open[position[seen]]
    unsubscribe_at += rng.integers(20 * _SECOND, 10 * _MINUTE, u.size)
    # The status is in the export, so its event must be too.
    unsubscribe_at = np.minimum(unsubscribe_at, end_us - _SECOND)
    b = np.flatnonzero(leaving == _BOUNCES)
    bounce_at = sent_at[b] + rng.integers(_SECOND, 15 * _MINUTE, b.size)

    parts = [  # (event type, send positions, times)
        ("send", np.arange(contact.size), sent_at),
        ("open", o[open_of], open_at),
        ("click", o[click_of], click_at),
        ("bounce", b, bounce_at),
        ("unsubscribe", u, unsubscribe_at),
    ]
    send = np.concatenate([rows for _, rows, _ in parts])
    occurred_at = np.concatenate([times for _, _, times in parts])
    code = np.repeat(np.array([EVENT_TYPES.index(kind) for kind, _, _ in parts], dtype=np.int8),
                     [rows.size for _, rows, _ in parts])
    # The export happens at `end`: opens and clicks still to come are not in it.
    order = np.flatnonzero(occurred_at < end_us)
    order = order[np.argsort(occurred_at[order], kind="stable")]
    send, occurred_at, code = send[order], occurred_at[order], code[order]
    return pd.DataFrame({
        "contact_id": contact[send].astype(np.int64) + 1,
        "campaign_id": campaign[send].astype(np.int64) + 1,
        "event_type": _labels(code, EVENT_TYPES),
        "occurred_at": occurred_at.view("datetime64[us]"),
    })


def _machines(
    rng: np.random.Generator, events: pd.DataFrame, plan: _Plan, emails: np.ndarray, end_us: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """Apple's proxy opens and link scanners' clicks added to the events, the readers' user
    agents, addresses and links filled in, and the truth of every row (see the module notes)."""
    n = emails.size
    domain = pd.Series(emails).str.rsplit("@", n=1).str[1].to_numpy(dtype=object)
    share = pd.Series(domain).map(_APPLE_MAIL_SHARE).fillna(_APPLE_MAIL_SHARE_ELSEWHERE).to_numpy()
    apple = rng.random(n) < share
    # The scanner is a per-mailbox policy: about a third of the mailboxes of those companies have it.
    scanned = np.isin(domain, _SCANNED_DOMAINS) & (rng.random(n) < 0.3)

    contact = events["contact_id"].to_numpy(np.int64) - 1
    campaign = events["campaign_id"].to_numpy(np.int64) - 1
    kind = events["event_type"].to_numpy(dtype=object)
    # Behind the proxy the person's own opens are served from Apple's cache: the sender never sees them.
    events = events[~(apple[contact] & (kind == "open"))]
    contact, campaign, kind = contact[events.index], campaign[events.index], kind[events.index]
    bounced = pd.MultiIndex.from_arrays([contact[kind == "bounce"], campaign[kind == "bounce"]])
    is_send = (kind == "send") & ~pd.MultiIndex.from_arrays([contact, campaign]).isin(bounced)
    sends = pd.DataFrame({"contact": contact[is_send], "campaign": campaign[is_send]})
    sent_at = plan.sent_at[sends["campaign"].to_numpy()]

    proxied = sends[apple[sends["contact"].to_numpy()]]
    proxy_at = plan.sent_at[proxied["campaign"].to_numpy()] + rng.integers(
        2 * _SECOND, 60 * _SECOND, len(proxied))
    proxy_ip = ("17.58." + pd.Series(rng.integers(0, 256, len(proxied))).astype(str) + "."
                + pd.Series(rng.integers(1, 255, len(proxied))).astype(str)).to_numpy(dtype=object)

    behind = np.flatnonzero(scanned[sends["contact"].to_numpy()])
    links = rng.integers(1, 4, behind.size)
    of = np.repeat(behind, links)
    scan_at = (sent_at[of] + np.repeat(rng.integers(5 * _SECOND, 40 * _SECOND, behind.size), links)
               + _nth(links) * rng.integers(0, 1_500_000, of.size))

    readers = events.assign(
        user_agent=np.array(_READER_AGENTS, dtype=object)[rng.integers(0, len(_READER_AGENTS), len(events))],
        ip="203.0." + pd.Series(rng.integers(113, 114, len(events))).astype(str).to_numpy(dtype=object)
        + "." + pd.Series(rng.integers(1, 255, len(events))).astype(str).to_numpy(dtype=object),
        link=_link(campaign, rng.integers(1, _LINKS_PER_EMAIL + 1, len(events))),
        truth="",
    )
    reader_kind = readers["event_type"].to_numpy(dtype=object)
    engaged = np.isin(reader_kind, ["open", "click"])
    readers.loc[~engaged, ["user_agent", "ip"]] = None
    readers.loc[reader_kind != "click", "link"] = None
    machines = pd.DataFrame({
        "contact_id": np.r_[proxied["contact"].to_numpy(), sends["contact"].to_numpy()[of]] + 1,
        "campaign_id": np.r_[proxied["campaign"].to_numpy(), sends["campaign"].to_numpy()[of]] + 1,
        "event_type": ["open"] * len(proxied) + ["click"] * of.size,
        "occurred_at": np.r_[proxy_at, scan_at].view("datetime64[us]"),
        "user_agent": np.r_[np.full(len(proxied), _PROXY_AGENT, dtype=object),
                            np.full(of.size, None, dtype=object)],
        "ip": np.r_[proxy_ip, np.full(of.size, None, dtype=object)],
        "link": np.r_[np.full(len(proxied), None, dtype=object),
                      _link(sends["campaign"].to_numpy()[of], _nth(links) + 1)],
        "truth": ["machine_open"] * len(proxied) + ["scanner_click"] * of.size,
    })
    machines = machines[machines["occurred_at"].to_numpy().astype(np.int64) < end_us]
    merged = pd.concat([readers, machines], ignore_index=True)
    merged = merged.iloc[np.argsort(merged["occurred_at"].to_numpy(), kind="stable")]
    truth = merged.pop("truth").to_numpy(dtype=str)
    return merged.reset_index(drop=True), truth


def _link(campaign: np.ndarray, number: np.ndarray) -> np.ndarray:
    return ("https://shop.example.com/c" + pd.Series(campaign + 1).astype(str) + "/link"
            + pd.Series(number).astype(str)).to_numpy(dtype=object)


def _labels(codes: np.ndarray, names: tuple[str, ...]) -> pd.Series:
    # Through Arrow: tens of millions of labels become a string column without Python objects.
    dictionary = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(names))
    return dictionary.cast(pa.large_string()).to_pandas()


# --- orders -------------------------------------------------------------------------------------


def _orders(rng: np.random.Generator, added: np.ndarray, behaviour: _Behaviour,
            wholesale: np.ndarray, end_us: int) -> pd.DataFrame:
    """Orders for about a quarter of the contacts; engaged contacts buy more often."""
    n = added.size
    affinity = np.clip(behaviour.base + 0.5 * behaviour.shift, -4.0, 3.0)
    affinity = (affinity - affinity.mean()) / (affinity.std() or 1.0)
    buyer = rng.random(n) < np.clip(0.22 + 0.1 * affinity, 0.03, 0.7)
    count = np.where(buyer, 1 + rng.poisson(0.8 * np.exp(0.35 * affinity)), 0)
    who = np.repeat(np.arange(n), count)
    since = added[who]
    ordered_at = since + (rng.random(who.size) * (end_us - since)).astype(np.int64)
    ordered_at -= ordered_at % _SECOND
    # Basket values are skewed: many small orders, a long tail; wholesale buyers order in bulk.
    amount = rng.lognormal(np.log(42.0), 0.8, who.size)
    amount *= np.where(wholesale[who], rng.uniform(4.0, 10.0, who.size), 1.0)
    amount = np.round(np.maximum(amount, 2.5), 2)
    order = np.argsort(ordered_at, kind="stable")
    number = pd.Series(np.arange(1, who.size + 1)).astype(str).str.zfill(6)
    return pd.DataFrame({
        "order_id": ("ORD-" + number).to_numpy(dtype=object),
        "contact_id": who[order].astype(np.int64) + 1,
        "ordered_at": ordered_at[order].view("datetime64[us]"),
        "amount": amount[order],
    })


# --- progress and README ------------------------------------------------------------------------


@contextmanager
def _progress(show: bool) -> Iterator[Callable[[str], None]]:
    """Yield ``stage(name)``, which marks the start of a stage on a progress bar when shown."""
    if not show:
        yield lambda name: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("Sample data", total=len(_STAGES))

        def stage(name: str) -> None:
            bar.update(task, description=f"Sample data: {name}", completed=_STAGES.index(name))

        yield stage
        bar.update(task, description="Sample data: done", completed=len(_STAGES))


def _readme(dataset: Dataset, folder: Path, *, seed: int, end: pd.Timestamp) -> str:
    shown_end = f"{end:%Y-%m-%d}" if end == end.normalize() else end.isoformat()
    command = (f"engagekit sample --contacts {dataset.n_contacts} --seed {seed} --end {shown_end} "
               f"--out {folder.name}")
    files = {**CSV_FILES, "email_events": "email_events.csv.gz"}
    counts = dataset.summary()
    rows = "\n".join(
        f"| `{files[table]}` | {counts[table]:,} |" for table in files
    )
    return f"""# Sample data

An invented email programme in engagekit's canonical CSV layout: every name, address, campaign and
event is made up by `engagekit.data.sample.generate_sample`, seeded so that it is the same everywhere.

- contacts: {dataset.n_contacts:,}
- seed: {seed}
- end date (reference time T): {shown_end}; campaigns cover the 12 months before it

Made with:

```
{command}
```

| file | rows |
|---|---|
{rows}

Tags are in `contacts.csv` (column `tags`, separated by `;`); `city`, `loyalty_points` and
`birthday` are custom fields. Engagement drifts: between 30 days before {shown_end} and
{shown_end}, some contacts slip, some rise and some are new.
"""


__all__ = ["SAMPLE_END", "SAMPLE_SEED", "generate_sample", "write_sample"]
