"""The analysts' SQL sandbox: one SELECT over the analyst tables, calling only allowlisted functions.

``readonly=1`` alone let an analyst read the worker's files (the scalar ``file()``), kill the
writer's queries and stop merges. So every analyst query is parsed by the engine itself and
checked before it runs, in three steps on the analysts' own handle:

1. ``formatQuerySingleLine`` with the text bound as a value (it is parsed, never run): a syntax
   error or a second statement stops here; what runs later is this canonical text, comments and
   quoting tricks gone.
2. ``EXPLAIN AST`` of that text (parsed, not run): ``ast_refusal`` walks the tree and accepts one
   SELECT (UNION, INTERSECT, WITH and subqueries allowed) with no SETTINGS, FORMAT, INTO OUTFILE
   or table function, whose every function is on the allowlist below.
3. ``EXPLAIN QUERY TREE`` (the engine resolves names: a CTE, a view, ``x IN t``): ``tree_refusal``
   accepts only the tables of ``ANALYST_TABLES``. This step comes after the AST's, as resolving
   folds constant expressions, which would call ``file('/etc/passwd')`` itself.

The engine's limits (readonly, time, memory, result rows and bytes) stay as the second wall.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

MAX_SQL_CHARS = 65_536


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# What analysts may read (docs/analysts.md): the views, and the tables behind them (which may
# still hold a re-delivered copy until ClickHouse merges it away). Bookkeeping tables and the
# materialised views' insert triggers are left out.
ANALYST_VIEWS = frozenset(
    {
        "events_v",
        "events_all_v",
        "sessions_v",
        "sessions_all_v",
        "calls_v",
        "daily_site_stats_mat_v",
        "daily_site_stats_v",
        "sites_v",
        "dead_letters_v",
        "os_companies_v",
        "os_signals_v",
        "os_runs_v",
        "os_feedback_v",
        "leads_v",  # the phone number masked
        "lead_stages_v",
        "lead_stage_history_v",
        "oci_queue_v",
        "stats_hourly_v",  # the Stats API's hourly rollup (visitors as a uniq state: uniqMerge)
    }
)
ANALYST_BASE_TABLES = frozenset(
    {
        "events",
        "sessions",
        "calls",
        "sites",
        "dead_letters",
        "erasures",
        "daily_site_stats",
        "os_companies",
        "os_signals",
        "os_runs",
        "os_feedback",
        "lead_stages",  # not leads: it holds the phone numbers in full
    }
)
ANALYST_TABLES = ANALYST_VIEWS | ANALYST_BASE_TABLES
SAFE_SYSTEM_TABLES = frozenset({"system.one"})  # what ``SELECT 1`` reads

# --- functions ----------------------------------------------------------------------------------
# Aggregate and window functions; any combinator suffix (countIf, uniqExactIf, sumArray, ...) too.
AGGREGATES = _words(
    """
    count sum avg min max any anyLast anyHeavy any_value argMin argMax min_by max_by
    uniq uniqExact uniqCombined uniqCombined64 uniqHLL12 uniqUpTo
    groupArray groupUniqArray groupArraySorted groupArrayLast groupArraySample groupArrayMovingAvg
    groupArrayMovingSum groupArrayInsertAt groupArrayIntersect groupConcat group_concat string_agg array_agg
    groupBitAnd groupBitOr groupBitXor groupBitmap
    median medianExact medianExactLow medianExactHigh medianExactWeighted medianTiming medianTDigest
    medianDeterministic medianBFloat16 medianGK medianDD
    quantile quantileExact quantileExactLow quantileExactHigh quantileExactWeighted quantileTiming
    quantileTDigest quantileTDigestWeighted quantileDeterministic quantileBFloat16 quantileGK quantileDD
    quantileExactInclusive quantileExactExclusive quantileInterpolatedWeighted
    quantiles quantilesExact quantilesExactLow quantilesExactHigh quantilesExactWeighted quantilesTiming
    quantilesTDigest quantilesTDigestWeighted quantilesDeterministic quantilesBFloat16 quantilesGK quantilesDD
    topK topKWeighted approx_top_k approx_top_count approx_top_sum
    stddevPop stddevSamp stddevPopStable stddevSampStable varPop varSamp varPopStable varSampStable
    STD STDDEV STDDEV_POP STDDEV_SAMP VAR_POP VAR_SAMP
    covarPop covarSamp covarPopStable covarSampStable COVAR_POP COVAR_SAMP corr corrStable
    skewPop skewSamp kurtPop kurtSamp entropy avgWeighted sumWithOverflow sumKahan sumCount
    simpleLinearRegression rankCorr boundingRatio deltaSum deltaSumTimestamp exponentialMovingAverage
    histogram retention windowFunnel sequenceMatch sequenceCount intervalLengthSum maxIntersections
    singleValueOrNull sparkbar sparkBar BIT_AND BIT_OR BIT_XOR
    row_number rank dense_rank denseRank percent_rank percentRank cume_dist ntile
    first_value last_value nth_value lag lead lagInFrame leadInFrame
    """
)
COMBINATORS = (
    "If",
    "Array",
    "Distinct",
    "OrNull",
    "OrDefault",
    "State",
    "Merge",
    "MergeState",
    "SimpleState",
    "ForEach",
    "Resample",
    "ArgMin",
    "ArgMax",
    "Map",
)
SCALARS = _words(
    """
    lambda tuple array map untuple tupleElement arrayElement arrayElementOrNull tupleNames
    plus minus multiply divide divideOrNull intDiv intDivOrZero intDivOrNull modulo moduloOrZero moduloOrNull
    mod pmod positiveModulo negate abs
    equals notEquals less greater lessOrEquals greaterOrEquals isNotDistinctFrom isDistinctFrom
    and or not xor in notIn nullIn notNullIn exists
    like notLike ilike notILike match REGEXP_MATCHES
    if multiIf caseWithExpression caseWithoutExpression transform ifNull nullIf coalesce
    isNull isNotNull isZeroOrNull assumeNotNull toNullable grouping
    CAST _CAST accurateCast accurateCastOrNull accurateCastOrDefault
    now now64 today yesterday curdate current_date current_timestamp localtimestamp
    toDate toDate32 toDateTime toDateTime32 toDateTime64 toDateOrNull toDateOrZero toDate32OrNull
    toDateTimeOrNull toDateTimeOrZero toDateTime64OrNull toDateTime64OrZero
    parseDateTime parseDateTimeOrNull parseDateTimeBestEffort parseDateTimeBestEffortOrNull
    parseDateTimeBestEffortOrZero parseDateTime64BestEffort parseDateTime64BestEffortOrNull
    toYear toQuarter toMonth toWeek toISOWeek toISOYear toDayOfMonth toDayOfWeek toDayOfYear toHour
    toMinute toSecond toMillisecond toMonday toYearWeek yearweek toDaysSinceYearZero
    YEAR QUARTER MONTH DAY DAYOFMONTH DAYOFWEEK DAYOFYEAR HOUR MINUTE SECOND monthName dateName
    toStartOfDay toStartOfHour toStartOfMinute toStartOfSecond toStartOfFiveMinutes toStartOfFiveMinute
    toStartOfTenMinutes toStartOfFifteenMinutes toStartOfWeek toStartOfMonth toStartOfQuarter
    toStartOfYear toStartOfISOYear toStartOfInterval toLastDayOfMonth toLastDayOfWeek LAST_DAY timeSlot
    toYYYYMM toYYYYMMDD toYYYYMMDDhhmmss toUnixTimestamp toUnixTimestamp64Milli toUnixTimestamp64Micro
    fromUnixTimestamp fromUnixTimestamp64Milli fromUnixTimestamp64Micro FROM_UNIXTIME
    toRelativeYearNum toRelativeQuarterNum toRelativeMonthNum toRelativeWeekNum toRelativeDayNum
    toRelativeHourNum toRelativeMinuteNum toRelativeSecondNum
    dateDiff date_diff DATE_DIFF timestampDiff timestamp_diff age dateTrunc DATE_TRUNC date_bin
    addSeconds addMinutes addHours addDays addWeeks addMonths addQuarters addYears
    subtractSeconds subtractMinutes subtractHours subtractDays subtractWeeks subtractMonths
    subtractQuarters subtractYears
    toIntervalSecond toIntervalMinute toIntervalHour toIntervalDay toIntervalWeek toIntervalMonth
    toIntervalQuarter toIntervalYear toTimeZone toTimezone timeZone timezone timeZoneOf
    formatDateTime DATE_FORMAT formatDateTimeInJodaSyntax makeDate makeDate32 makeDateTime makeDateTime64
    length lengthUTF8 char_length CHAR_LENGTH CHARACTER_LENGTH OCTET_LENGTH empty notEmpty
    lower upper lowerUTF8 upperUTF8 lcase ucase initcap initcapUTF8 reverse reverseUTF8
    concat concatWithSeparator concat_ws substring substr mid substringUTF8 left right leftUTF8 rightUTF8
    leftPad rightPad leftPadUTF8 rightPadUTF8 lpad rpad trim trimBoth trimLeft trimRight ltrim rtrim
    replace replaceAll replaceOne replaceRegexpOne replaceRegexpAll REGEXP_REPLACE translate translateUTF8
    position positionCaseInsensitive positionUTF8 positionCaseInsensitiveUTF8 locate instr
    startsWith endsWith startsWithUTF8 endsWithUTF8 extract extractAll extractGroups extractAllGroups
    REGEXP_EXTRACT regexpExtract splitByChar splitByString splitByRegexp splitByWhitespace
    splitByNonAlpha arrayStringConcat format printf repeat space toValidUTF8 isValidUTF8 firstLine
    countSubstrings countSubstringsCaseInsensitive countMatches multiSearchAny multiMatchAny hasToken
    ngramDistance levenshteinDistance editDistance damerauLevenshteinDistance stringJaccardIndex
    substringIndex SUBSTRING_INDEX base64Encode base64Decode tryBase64Decode hex unhex bin unbin
    encodeURLComponent decodeURLComponent normalizeUTF8NFC normalizeUTF8NFD removeDiacriticsUTF8
    protocol domain domainWithoutWWW topLevelDomain firstSignificantSubdomain cutToFirstSignificantSubdomain
    cutWWW path pathFull queryString fragment queryStringAndFragment cutQueryString cutFragment
    cutQueryStringAndFragment extractURLParameter extractURLParameters extractURLParameterNames
    cutURLParameter netloc port URLHierarchy URLPathHierarchy
    cityHash64 sipHash64 sipHash128 halfMD5 MD5 SHA1 SHA224 SHA256 SHA512 xxHash32 xxHash64 xxh3
    murmurHash3_32 murmurHash3_64 farmHash64 intHash32 intHash64
    round roundBankers floor ceil ceiling trunc truncate roundDown roundToExp2 sqrt cbrt exp exp2 exp10
    log ln log2 log10 log1p pow power sign greatest least pi e sin cos tan asin acos atan atan2 hypot
    degrees radians erf erfc sigmoid gcd lcm factorial isNaN isFinite isInfinite ifNotFinite
    widthBucket width_bucket min2 max2 rand rand32 rand64 randCanonical
    toInt8 toInt16 toInt32 toInt64 toInt128 toInt256 toUInt8 toUInt16 toUInt32 toUInt64 toUInt128
    toUInt256 toFloat32 toFloat64 toDecimal32 toDecimal64 toDecimal128 toDecimal256
    toInt8OrNull toInt16OrNull toInt32OrNull toInt64OrNull toUInt8OrNull toUInt16OrNull toUInt32OrNull
    toUInt64OrNull toFloat32OrNull toFloat64OrNull toDecimal32OrNull toDecimal64OrNull
    toDecimal128OrNull toInt32OrZero toInt64OrZero toUInt32OrZero toUInt64OrZero toFloat64OrZero
    toInt64OrDefault toFloat64OrDefault toString toFixedString toDecimalString toBool toUUID
    toUUIDOrNull toUUIDOrZero generateUUIDv4 toTypeName toLowCardinality toIPv4 toIPv6 toIPv4OrNull
    toIPv6OrNull IPv4NumToString IPv6NumToString IPv4StringToNum IPv6StringToNum isIPv4String
    isIPv6String isIPAddressInRange cutIPv6 formatReadableSize formatReadableDecimalSize
    formatReadableQuantity formatReadableTimeDelta toJSONString bar materialize identity ignore
    has hasAll hasAny hasSubstr indexOf countEqual arrayJoin arrayMap arrayFilter arrayExists arrayAll
    arrayCount arraySum arrayAvg arrayMin arrayMax arrayProduct arraySort arrayReverseSort
    arrayPartialSort arrayDistinct arrayUniq arrayConcat arraySlice arrayReverse arrayFlatten flatten
    arrayCompact arrayEnumerate arrayEnumerateUniq arrayEnumerateDense arrayZip arrayFirst arrayLast
    arrayFirstIndex arrayLastIndex arrayFirstOrNull arrayLastOrNull arrayPushBack arrayPushFront
    arrayPopBack arrayPopFront arrayResize arrayIntersect arrayUnion arrayExcept arrayCumSum
    arrayCumSumNonNegative arrayDifference arrayReduce arrayFold arraySplit arrayReverseSplit
    arrayWithConstant arrayShingles arrayRemove range emptyArrayString emptyArrayUInt64
    emptyArrayInt64 emptyArrayFloat64 emptyArrayDate emptyArrayDateTime
    mapKeys mapValues mapContains mapContainsKey mapFromArrays mapFilter mapApply mapUpdate mapConcat
    mapExists mapAll mapSort
    JSONExtract JSONExtractString JSONExtractInt JSONExtractUInt JSONExtractFloat JSONExtractBool
    JSONExtractRaw JSONExtractArrayRaw JSONExtractKeys JSONExtractKeysAndValues JSONExtractKeysAndValuesRaw
    JSONHas JSONLength JSONType JSONArrayLength JSON_VALUE JSON_QUERY JSON_EXISTS isValidJSON
    simpleJSONExtractString simpleJSONExtractInt simpleJSONExtractUInt simpleJSONExtractFloat
    simpleJSONExtractBool simpleJSONExtractRaw simpleJSONHas visitParamExtractString
    visitParamExtractInt visitParamExtractUInt visitParamExtractFloat visitParamExtractBool
    visitParamExtractRaw visitParamHas
    greatCircleDistance geoDistance
    """
)
IN_FUNCTIONS = frozenset({"in", "notin", "nullin", "notnullin"})  # their right side may name a table
_ALLOWED = frozenset(n.lower() for n in SCALARS | AGGREGATES)
_AGGREGATES = frozenset(n.lower() for n in AGGREGATES)
_COMBINATORS = tuple(c.lower() for c in COMBINATORS)

# --- the AST --------------------------------------------------------------------------------------
# Node kinds an analyst's SELECT may contain; anything else (a SETTINGS clause's ``Set``, APPLY, a
# query parameter, another statement) is refused.
NODE_KINDS = _words(
    """
    SelectWithUnionQuery SelectIntersectExceptQuery SelectQuery ExpressionList Function Identifier
    Literal Asterisk QualifiedAsterisk ColumnsRegexpMatcher ColumnsListMatcher QualifiedColumnsRegexpMatcher
    QualifiedColumnsListMatcher ColumnsTransformerList ColumnsExceptTransformer ColumnsReplaceTransformer
    TablesInSelectQuery TablesInSelectQueryElement TableExpression TableIdentifier TableJoin ArrayJoin
    Subquery WithElement OrderByElement WindowDefinition WindowListElement InterpolateElement SampleRatio
    """
)
_REFUSED_KINDS = {
    "Set": "a SETTINGS clause (the limits are the worker's)",
    "ColumnsApplyTransformer": "APPLY (call the function on the columns by name instead)",
    "QueryParameter": "a query parameter ({name:Type}); write the value in the query",
}
_NODE = re.compile(r"^(?P<indent> *)(?P<kind>[A-Za-z_]+)(?P<rest>.*?)(?: \(children (?P<children>\d+)\))?$")
_NAMED = re.compile(r"^ (?P<name>\S+)(?: \(alias .*\))?$")
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_QUALIFIED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?$")
_CLIENT_FORMAT = "Native"  # the format clickhouse-connect appends to every query it sends
_TREE_TABLE = re.compile(r"^\s*TABLE id: \d+,.*?\btable_name: (?P<name>[^,\s]+)")
_DOCS = "docs/analysts.md"


class AnalystSqlRefused(ValueError):
    """An analyst query the sandbox will not run; the message is the answer (``refused: ...``)."""


def refused(what: str, hint: str = "") -> AnalystSqlRefused:
    return AnalystSqlRefused(f"refused: {what}" + (f"; {hint}" if hint else ""))


@dataclass
class Node:
    kind: str
    rest: str
    declared: int  # the children the engine says the node has
    children: list[Node] = field(default_factory=list)

    @property
    def name(self) -> str | None:
        """A Function's, Identifier's or TableIdentifier's name as written (None when unusual)."""
        match = _NAMED.match(self.rest)
        return match.group("name") if match else None

    def walk(self, parent: Node | None = None) -> Iterator[tuple[Node, Node | None]]:
        yield self, parent
        for child in self.children:
            yield from child.walk(self)


def parse_ast(text: str) -> Node:
    """The tree of ``EXPLAIN AST`` output (one node a line, indented a space a level).

    A name with a line break in it (a quoted alias) splits a line; such text could pose as nodes.
    Every node must therefore have exactly the children the engine announced, and the text one
    root: an injected line always lands under a real node and upsets its count."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise refused("the engine returned no structure for the query")
    stack: list[tuple[int, Node]] = []
    root: Node | None = None
    for line in lines:
        match = _NODE.match(line)
        if match is None:
            raise refused("a name the sandbox cannot read (a line break in a quoted name?)", "rename it")
        depth = len(match.group("indent"))
        node = Node(match.group("kind"), match.group("rest"), int(match.group("children") or 0))
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            stack[-1][1].children.append(node)
        elif root is None and depth == 0:
            root = node
        else:
            raise refused("a name the sandbox cannot read (a line break in a quoted name?)", "rename it")
        stack.append((depth, node))
    assert root is not None
    for node, _ in root.walk():
        if len(node.children) != node.declared:
            raise refused("a name the sandbox cannot read (a line break in a quoted name?)", "rename it")
    return root


def function_allowed(name: str) -> bool:
    """On the allowlist: a listed function, or a listed aggregate with combinator suffixes."""
    lowered = name.lower()
    if lowered in _ALLOWED:
        return True
    stripped = True
    while stripped:
        stripped = False
        for suffix in _COMBINATORS:
            if lowered.endswith(suffix) and len(lowered) > len(suffix):
                lowered = lowered[: -len(suffix)]
                stripped = True
                if lowered in _AGGREGATES:
                    return True
    return False


def allowed_tables(database: str) -> frozenset[str]:
    """Tables and views an analyst may read, as ``database.table``."""
    return frozenset(f"{database}.{t}" for t in ANALYST_TABLES) | SAFE_SYSTEM_TABLES


def _table_refusal(name: str | None, database: str) -> AnalystSqlRefused | None:
    """A named table is checked here if it names its database; a plain name may be a CTE's, so
    the query tree (which resolves it) decides."""
    if name is None or not _QUALIFIED.match(name):
        return refused(f"the table name {name!r}", f"read the analyst tables ({_DOCS})")
    if "." in name and name not in allowed_tables(database):
        return refused(f"reading {name}", f"analysts read the tables and views listed in {_DOCS}")
    return None


def statement_refusal(canonical: str) -> AnalystSqlRefused | None:
    """Anything but a SELECT, from the first word of the engine's canonical text."""
    first = canonical.lstrip("( ").split(" ", 1)[0].upper()
    if first in ("SELECT", "WITH"):
        return None
    return refused(f"{first or 'an empty'} statement", "analysts may run one SELECT")


def ast_refusal(ast_text: str, database: str) -> AnalystSqlRefused | None:
    """Why ``EXPLAIN AST`` output is not an analyst's query (None: it may go on to the query tree)."""
    try:
        root = parse_ast(ast_text)
    except AnalystSqlRefused as exc:
        return exc
    if root.kind != "SelectWithUnionQuery":
        return refused(f"a {root.kind} statement", "analysts may run one SELECT")
    for extra in root.children[1:]:
        if extra.kind == "Identifier" and extra.name == _CLIENT_FORMAT and extra is root.children[-1]:
            continue
        if extra.kind == "Identifier":
            return refused(f"a FORMAT clause ({extra.name})", "`leadstream query --format` chooses the output")
        if extra.kind == "Literal":
            return refused("INTO OUTFILE", "analysts get their rows in the answer, never in a file")
        return refused(_REFUSED_KINDS.get(extra.kind, f"the clause {extra.kind}"))
    for node, parent in root.walk():
        if refusal := _node_refusal(node, parent, database):
            return refusal
    return None


def _node_refusal(node: Node, parent: Node | None, database: str) -> AnalystSqlRefused | None:
    if node.kind in _REFUSED_KINDS:
        return refused(_REFUSED_KINDS[node.kind])
    if node.kind not in NODE_KINDS:
        return refused(f"{node.kind} in a query", "analysts may run one SELECT")
    if node.kind == "SelectWithUnionQuery" and parent is not None and len(node.children) != 1:
        return refused("a FORMAT, SETTINGS or INTO OUTFILE clause in a subquery")
    if node.kind == "TableIdentifier":
        return _table_refusal(node.name, database)
    if node.kind != "Function":
        return None
    name = node.name
    if name is None or not _PLAIN.match(name):
        return refused(f"the function name {node.rest.strip()!r}", f"use the functions listed in {_DOCS}")
    if parent is not None and parent.kind == "TableExpression":
        return refused(f"the table function {name}()", f"read the analyst tables ({_DOCS})")
    if not function_allowed(name):
        return refused(f"the function {name}()", f"analysts may use the functions listed in {_DOCS}")
    if name.lower() in IN_FUNCTIONS and node.children:
        arguments = node.children[0].children
        if len(arguments) == 2 and arguments[1].kind == "Identifier":  # ``x IN table``
            return _table_refusal(arguments[1].name, database)
    return None


def tree_refusal(tree_text: str, database: str) -> AnalystSqlRefused | None:
    """Why ``EXPLAIN QUERY TREE`` output reads beyond the analyst tables (None: it does not)."""
    allowed = allowed_tables(database)
    for line in tree_text.splitlines():
        if line.lstrip().startswith("TABLE_FUNCTION"):
            return refused("a table function", f"read the analyst tables ({_DOCS})")
        if not line.lstrip().startswith("TABLE id:"):
            continue
        match = _TREE_TABLE.match(line)
        name = match.group("name") if match else "a table the engine does not name"
        if name not in allowed:
            return refused(f"reading {name}", f"analysts read the tables and views listed in {_DOCS}")
    return None


def engine_message(exc: BaseException) -> str:
    """The engine's error as an analyst reads it: its first line, without codes and versions."""
    text = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
    text = re.sub(r"(?:Code: \d+\. )?DB::Exception: ", "", text)
    text = re.sub(r" \(version [^)]*\)", "", text)
    text = re.sub(r": In scope SELECT formatQuerySingleLine\(.*", "", text)
    return text[:1000]


def checked_sql(client: Any, sql: str, database: str) -> str:
    """The canonical text of ``sql`` once the engine has parsed it and the sandbox accepts it.

    ``client``: the analysts' clickhouse-connect handle. Raises ``AnalystSqlRefused``."""
    if not sql.strip():
        raise refused("an empty query", "send one SELECT")
    if len(sql) > MAX_SQL_CHARS:
        raise refused(f"a query longer than {MAX_SQL_CHARS} characters")
    try:
        [[canonical]] = client.query("SELECT formatQuerySingleLine({sql:String})", parameters={"sql": sql}).result_rows
    except Exception as exc:
        message = engine_message(exc)
        if "Multi-statements are not allowed" in message:
            raise refused("more than one statement", "send one SELECT, without a `;` between statements") from None
        raise refused(f"a query the engine cannot parse: {message}") from None
    if refusal := statement_refusal(canonical):
        raise refusal
    try:
        ast = "\n".join(row[0] for row in client.query(f"EXPLAIN AST {canonical}").result_rows)
    except Exception as exc:
        message = engine_message(exc)
        if "READONLY" in message or "in readonly mode" in message:
            raise refused("a SETTINGS clause (the limits are the worker's)") from None
        raise refused(f"a query the engine cannot parse: {message}") from None
    if refusal := ast_refusal(ast, database):
        raise refusal
    tree = "\n".join(row[0] for row in client.query(f"EXPLAIN QUERY TREE {canonical}").result_rows)
    if refusal := tree_refusal(tree, database):
        raise refusal
    return canonical
