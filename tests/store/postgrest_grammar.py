"""PostgREST's query-string grammar, with its parse errors, for the loopback server (postgrest_gotrue.py).

PostgREST parses ``select``, filters (``col=op.value``), logic trees (``or=(...)``, ``not.and=(...)``),
``order``, ``columns`` and ``on_conflict`` with Parsec, and a query string it cannot parse is answered
with ``400 PGRST100`` whose ``message`` is Parsec's error position, named after what failed
(``"failed to parse logic tree (...)" (line 1, column 19)``) and whose ``details`` is Parsec's
rendering of what it found and expected (``unexpected "*" expecting ... or delimiter (.)``).

References, read for this module (documented behaviour, not copied code):
- https://docs.postgrest.org/en/latest/references/api/tables_views.html (operators, logical operators,
  reserved characters and double quotes, ordering), .../references/api/url_grammar.html, and
  .../references/errors.html (PGRST100: "Parsing error in the query string parameter").
- The grammar itself as PostgREST documents it in the doctests of src/PostgREST/ApiRequest/QueryParams.hs
  (github.com/PostgREST/postgrest): tests/store/test_postgrest_loopback.py replays those documented
  inputs and their documented errors against this module.
- Parsec's documented error semantics (hackage.haskell.org/package/parsec, Text.Parsec.Prim and
  Text.Parsec.Error): an alternative is tried only when the first failed without consuming input,
  ``try`` undoes consumption, ``<?>`` renames what an empty failure expected, errors at the same
  position merge and the furthest one wins, and ``showErrorMessages`` renders them. The small
  combinator engine below reproduces those rules so that errors come out as PostgREST's do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SYS_UNEXPECT, UNEXPECT, EXPECT, MESSAGE = range(4)


def hs_show_char(c: str) -> str:
    """Haskell's ``show`` of a Char: ``'x'``."""
    return "'" + _hs_escape(c, "'") + "'"


def hs_show_str(s: str) -> str:
    """Haskell's ``show`` of a String: ``"abc"``."""
    return '"' + "".join(_hs_escape(c, '"') for c in s) + '"'


def _hs_escape(c: str, quote: str) -> str:
    if c == quote or c == "\\":
        return "\\" + c
    names = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v", "\x7f": "\\DEL"}
    if c in names:
        return names[c]
    if ord(c) < 32 or ord(c) > 126:
        return f"\\{ord(c)}"
    return c


# ----------------------------------------------------------------------------- a Parsec engine
@dataclass
class PError:
    pos: int
    msgs: list[tuple[int, str]] = field(default_factory=list)


def merge(e1: PError, e2: PError) -> PError:
    """Parsec's ``mergeError``: prefer errors with messages; at one position keep both; else the furthest."""
    if not e2.msgs and e1.msgs:
        return e1
    if not e1.msgs and e2.msgs:
        return e2
    if e1.pos == e2.pos:
        return PError(e1.pos, e1.msgs + e2.msgs)
    return e1 if e1.pos > e2.pos else e2


def set_expect(err: PError, label: str) -> PError:
    """Parsec's ``setExpectErrors err [label]``: every Expect message replaced by ``label``."""
    return PError(err.pos, [(EXPECT, label), *[m for m in err.msgs if m[0] != EXPECT]])


@dataclass
class Reply:
    ok: bool
    consumed: bool
    value: Any
    pos: int
    err: PError


Parser = Callable[[str, int], Reply]


def pure(value: Any) -> Parser:
    return lambda s, i: Reply(True, False, value, i, PError(i))


def zero() -> Parser:
    return lambda s, i: Reply(False, False, None, i, PError(i))


def satisfy(pred: Callable[[str], bool]) -> Parser:
    def p(s: str, i: int) -> Reply:
        if i < len(s) and pred(s[i]):
            return Reply(True, True, s[i], i + 1, PError(i + 1))
        return Reply(False, False, None, i, PError(i, [(SYS_UNEXPECT, hs_show_str(s[i]) if i < len(s) else "")]))

    return p


def any_token() -> Parser:
    """Parsec's ``anyToken``: takes one character without moving the position."""

    def p(s: str, i: int) -> Reply:
        if i < len(s):
            return Reply(True, True, s[i], i, PError(i))
        return Reply(False, False, None, i, PError(i, [(SYS_UNEXPECT, "")]))

    return p


def bind(p: Parser, k: Callable[[Any], Parser]) -> Parser:
    def q(s: str, i: int) -> Reply:
        r = p(s, i)
        if not r.ok:
            return r
        r2 = k(r.value)(s, r.pos)
        if r2.consumed:
            return r2
        return Reply(r2.ok, r.consumed, r2.value, r2.pos, merge(r.err, r2.err))

    return q


def fmap(f: Callable[[Any], Any], p: Parser) -> Parser:
    return bind(p, lambda v: pure(f(v)))


def seq(*parsers: Parser) -> Parser:
    """Run in order; the value is the list of values."""

    def go(index: int, acc: list[Any]) -> Parser:
        if index == len(parsers):
            return pure(acc)
        return bind(parsers[index], lambda v: go(index + 1, [*acc, v]))

    return go(0, [])


def left(p: Parser, *rest: Parser) -> Parser:
    """``p <* q <* ...``."""
    return fmap(lambda vs: vs[0], seq(p, *rest))


def right(*parsers: Parser) -> Parser:
    """``p *> q *> ...``: the last value."""
    return fmap(lambda vs: vs[-1], seq(*parsers))


def alt(*parsers: Parser) -> Parser:
    def q(s: str, i: int) -> Reply:
        err: PError | None = None
        for p in parsers:
            r = p(s, i)
            if r.consumed:
                return r
            merged = r.err if err is None else merge(err, r.err)
            if r.ok:
                return Reply(True, False, r.value, r.pos, merged)
            err = merged
        return Reply(False, False, None, i, err or PError(i))

    return q


def try_(p: Parser) -> Parser:
    def q(s: str, i: int) -> Reply:
        r = p(s, i)
        if not r.ok and r.consumed:
            return Reply(False, False, None, i, r.err)
        return r

    return q


def label(p: Parser, name: str) -> Parser:
    def q(s: str, i: int) -> Reply:
        r = p(s, i)
        if r.consumed:
            return r
        if not r.ok or r.err.msgs:
            return Reply(r.ok, False, r.value, r.pos, set_expect(r.err, name))
        return r

    return q


def many(p: Parser) -> Parser:
    def q(s: str, i: int) -> Reply:
        values: list[Any] = []
        pos, consumed = i, False
        while True:
            r = p(s, pos)
            if r.ok and r.consumed:
                values.append(r.value)
                pos, consumed = r.pos, True
                continue
            if r.ok:
                raise RuntimeError("many applied to a parser that accepts an empty string")
            if r.consumed:
                return r
            return Reply(True, consumed, values, pos, r.err)

    return q


def many1(p: Parser) -> Parser:
    return bind(p, lambda x: fmap(lambda xs: [x, *xs], many(p)))


def sep_by1(p: Parser, sep: Parser) -> Parser:
    return bind(p, lambda x: fmap(lambda xs: [x, *xs], many(right(sep, p))))


def sep_by(p: Parser, sep: Parser) -> Parser:
    return alt(sep_by1(p, sep), pure([]))


def option(default: Any, p: Parser) -> Parser:
    return alt(p, pure(default))


def option_maybe(p: Parser) -> Parser:
    return option(None, p)


def between(open_: Parser, close: Parser, p: Parser) -> Parser:
    return fmap(lambda vs: vs[1], seq(open_, p, close))


def string(t: str) -> Parser:
    """Parsec's ``string`` (``tokens``): a mismatch is reported at the start, consumed after one match."""

    def p(s: str, i: int) -> Reply:
        for k, ch in enumerate(t):
            if i + k >= len(s) or s[i + k] != ch:
                found = hs_show_str(s[i + k]) if i + k < len(s) else ""
                return Reply(False, k > 0, None, i, PError(i, [(EXPECT, hs_show_str(t)), (SYS_UNEXPECT, found)]))
        return Reply(True, bool(t), t, i + len(t), PError(i + len(t)))

    return p


def char(c: str) -> Parser:
    return label(satisfy(lambda x: x == c), hs_show_str(c))


def one_of(chars: str) -> Parser:
    return satisfy(lambda x: x in chars)


def none_of(chars: str) -> Parser:
    return satisfy(lambda x: x not in chars)


def any_char() -> Parser:
    return satisfy(lambda x: True)


def letter() -> Parser:
    return label(satisfy(str.isalpha), "letter")


def digit() -> Parser:
    return label(satisfy(lambda x: "0" <= x <= "9"), "digit")


def unexpected_at_end(message: str) -> Parser:
    return lambda s, i: Reply(False, False, None, i, PError(i, [(UNEXPECT, message)]))


def not_followed_by(p: Parser) -> Parser:
    """``try (do { c <- try p; unexpected (show c) } <|> return ())``."""
    return try_(alt(bind(try_(p), lambda c: unexpected_at_end(hs_show_char(c))), pure(None)))


def eof() -> Parser:
    return label(not_followed_by(any_token()), "end of input")


def look_ahead(p: Parser) -> Parser:
    def q(s: str, i: int) -> Reply:
        r = p(s, i)
        if r.ok:
            return Reply(True, False, r.value, i, PError(i))
        return r

    return q


def choice(*parsers: Parser) -> Parser:
    return alt(*parsers) if parsers else zero()


def position(s: str, pos: int) -> tuple[int, int]:
    """Parsec's SourcePos of offset ``pos``: lines on ``\\n``, tabs to the next multiple of 8 (plus one)."""
    line, col = 1, 1
    for c in s[:pos]:
        if c == "\n":
            line, col = line + 1, 1
        elif c == "\t":
            col = col + 8 - ((col - 1) % 8)
        else:
            col += 1
    return line, col


def show_error_messages(msgs: list[tuple[int, str]]) -> str:
    """Parsec's ``showErrorMessages "or" "unknown parse error" "expecting" "unexpected" "end of input"``."""
    if not msgs:
        return "unknown parse error"
    ordered = sorted(msgs, key=lambda m: m[0])  # a stable sort on the kind only, as Parsec's Ord Message

    def clean(texts: list[str]) -> list[str]:
        out: list[str] = []
        for t in texts:
            if t and t not in out:
                out.append(t)
        return out

    def commas_or(items: list[str]) -> str:
        if not items:
            return ""
        if len(items) == 1:
            return items[0]
        return ", ".join(clean(items[:-1])) + " or " + items[-1]

    def show_many(pre: str, kind: int) -> str:
        items = clean([t for k, t in ordered if k == kind])
        if not items:
            return ""
        return commas_or(items) if not pre else f"{pre} {commas_or(items)}"

    sys_unexpect = [t for k, t in ordered if k == SYS_UNEXPECT]
    unexpect = [t for k, t in ordered if k == UNEXPECT]
    if unexpect or not sys_unexpect:
        show_sys = ""
    else:
        show_sys = "unexpected end of input" if not sys_unexpect[0] else f"unexpected {sys_unexpect[0]}"
    parts = clean([show_sys, show_many("unexpected", UNEXPECT), show_many("expecting", EXPECT), show_many("", MESSAGE)])
    return "".join("\n" + p for p in parts)


class QueryParamError(Exception):
    """PGRST100: ``message`` is the shown position, ``details`` the rendered messages (newlines as spaces)."""

    def __init__(self, message: str, details: str):
        super().__init__(message)
        self.message = message
        self.details = details


def run(parser: Parser, name: str, text: str) -> Any:
    """``P.parse parser name text``, mapped as PostgREST's ``mapError``; the whole input must not be left over."""
    r = parser(text, 0)
    if r.ok:
        return r.value
    line, col = position(text, r.err.pos)
    message = f"{hs_show_str(name)} (line {line}, column {col})"
    details = show_error_messages(r.err.msgs).replace("\n", " ").strip()
    raise QueryParamError(message, details)


# ----------------------------------------------------------------------------- PostgREST's grammar
@dataclass(frozen=True)
class Field:
    name: str
    json_path: tuple[tuple[str, str, bool], ...] = ()  # (arrow "->" or "->>", key or index, is_index)


@dataclass(frozen=True)
class OpExpr:
    negated: bool
    kind: str  # "in", "is", "isdistinct", "fts", "simple", "quant"
    operator: str  # eq, gte, ..., cs, cd, ..., fts, plfts, ..., in, is, isdistinct
    value: Any  # str, list[str] for in, the keyword for is
    quantifier: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Filter:
    field: Field
    op: OpExpr


@dataclass(frozen=True)
class LogicTree:
    negated: bool
    operator: str  # "and" | "or"
    children: tuple[Any, ...]  # Filter | LogicTree


@dataclass(frozen=True)
class OrderTerm:
    field: Field
    direction: str | None
    nulls: str | None
    relation: str | None = None


@dataclass(frozen=True)
class SelectItem:
    field: Field | None  # None for "*"
    alias: str | None = None
    cast: str | None = None
    aggregate: str | None = None
    relation: str | None = None  # an embedding (refused by the loopback: the app embeds nothing)
    children: tuple[Any, ...] = ()


def ws() -> Parser:
    return many(one_of(" \t"))


def lexeme(p: Parser) -> Parser:
    return fmap(lambda vs: vs[1], seq(ws(), p, ws()))


def p_delimiter() -> Parser:
    return label(char("."), "delimiter (.)")


def p_identifier_char() -> Parser:
    return alt(letter(), digit(), one_of("_ $"))


def p_identifier() -> Parser:
    return fmap(lambda cs: "".join(cs).strip(), many1(p_identifier_char()))


def p_quoted_value() -> Parser:
    chars_or_slashed = alt(none_of('\\"'), right(char("\\"), any_char()))
    return fmap(lambda cs: "".join(cs), between(char('"'), char('"'), many(chars_or_slashed)))


def sep_by_dash(ident: Parser) -> Parser:
    dash = fmap(lambda _: "-", try_(seq(char("-"), not_followed_by(char(">")))))
    return fmap(lambda parts: "-".join(parts), sep_by1(ident, dash))


def p_field_name() -> Parser:
    return label(alt(p_quoted_value(), sep_by_dash(p_identifier())), "field name (* or [a..z0..9_$])")


def p_json_key_name() -> Parser:
    key_ident = fmap(lambda cs: "".join(cs).strip(), many1(none_of("(-:.,>)")))
    return label(alt(p_quoted_value(), sep_by_dash(key_ident)), "any non reserved character different from: .,>()")


def p_json_path() -> Parser:
    arrow = alt(try_(string("->>")), try_(string("->")))
    end = alt(*(try_(look_ahead(string(t))) for t in ("->", "::", ".", ",")), try_(eof()))
    index = left(fmap(lambda vs: (vs[0] or "+") + "".join(vs[1]), seq(option(None, char("-")), many1(digit()))), end)
    operand = alt(try_(fmap(lambda v: (v, True), index)), try_(fmap(lambda v: (v, False), p_json_key_name())))
    return many(fmap(lambda vs: (vs[0], vs[1][0], vs[1][1]), seq(arrow, operand)))


def p_field() -> Parser:
    return lexeme(fmap(lambda vs: Field(vs[0], tuple(vs[1])), seq(p_field_name(), option([], p_json_path()))))


def p_tree_path() -> Parser:
    return fmap(lambda vs: (vs[0][:-1], Field(vs[0][-1], tuple(vs[1]))), seq(sep_by1(p_field_name(), p_delimiter()), option([], p_json_path())))


SIMPLE_OPERATORS = ("neq", "cs", "cd", "ov", "sl", "sr", "nxr", "nxl", "adj")
QUANT_OPERATORS = ("eq", "gte", "gt", "lte", "lt", "like", "ilike", "match", "imatch")
IS_VALUES = ("null", "not_null", "true", "false", "unknown")


def ci_string(t: str) -> Parser:
    return fmap(lambda cs: "".join(cs), seq(*(alt(char(c), char(c.upper())) for c in t)))


def p_list_element() -> Parser:
    return alt(try_(left(p_quoted_value(), not_followed_by(none_of(",)")))), fmap(lambda cs: "".join(cs), many(none_of(",)"))))


def p_list_val() -> Parser:
    return fmap(lambda vs: vs[1], seq(lexeme(char("(")), sep_by1(p_list_element(), char(",")), lexeme(char(")"))))


def p_single_val() -> Parser:
    return fmap(lambda cs: "".join(cs), many(any_char()))


def p_logic_single_val() -> Parser:
    pg_array = fmap(lambda vs: vs[0] + "".join(vs[1]) + vs[2], seq(string("{"), many(none_of("{}")), string("}")))
    return alt(try_(left(p_quoted_value(), not_followed_by(none_of(",)")))), try_(pg_array), fmap(lambda cs: "".join(cs), many(none_of(",)"))))


def p_op_expr(single_val: Callable[[], Parser]) -> Parser:
    negation = alt(try_(fmap(lambda _: True, seq(string("not"), p_delimiter()))), pure(False))
    p_in = fmap(lambda v: ("in", "in", v), right(try_(seq(string("in"), p_delimiter())), p_list_val()))
    is_val = label(alt(*(try_(fmap(lambda _, v=v: v, ci_string(v))) for v in IS_VALUES)), "isVal: (null, not_null, true, false, unknown)")
    p_is = fmap(lambda v: ("is", "is", v), right(try_(seq(string("is"), p_delimiter())), is_val))
    p_is_dist = fmap(lambda v: ("isdistinct", "isdistinct", v), right(try_(seq(string("isdistinct"), p_delimiter())), single_val()))
    fts_op = alt(*(try_(string(o)) for o in ("fts", "plfts", "phfts", "wfts")))
    p_fts = fmap(
        lambda vs: ("fts", vs[0], vs[3], None, vs[1]),
        seq(fts_op, option_maybe(try_(between(char("("), char(")"), p_identifier()))), p_delimiter(), single_val()),
    )
    simple = label(alt(*(try_(string(o)) for o in SIMPLE_OPERATORS)), "unknown single value operator")
    p_simple = fmap(lambda vs: ("simple", vs[0], vs[2]), seq(simple, p_delimiter(), single_val()))
    quant = label(alt(*(try_(string(o)) for o in QUANT_OPERATORS)), "unknown single value operator")
    quantifier = option_maybe(try_(between(char("("), char(")"), alt(try_(string("any")), string("all")))))
    p_quant = fmap(lambda vs: ("quant", vs[0], vs[3], vs[1]), seq(quant, quantifier, p_delimiter(), single_val()))
    operation = label(alt(p_in, p_is, p_is_dist, try_(p_fts), try_(p_simple), try_(p_quant)), "operator (eq, gt, ...)")

    def build(vs: list[Any]) -> OpExpr:
        negated, (kind, operator, value, *rest) = vs
        quantifier_ = rest[0] if kind == "quant" and rest else None
        language = rest[1] if kind == "fts" and len(rest) > 1 else None
        return OpExpr(negated, kind, operator, value, quantifier_, language)

    return fmap(build, seq(negation, operation))


def p_logic_tree() -> Parser:
    def tree(s: str, i: int) -> Reply:
        statement = fmap(lambda vs: Filter(vs[0], vs[2]), seq(p_field(), p_delimiter(), p_op_expr(p_logic_single_val)))
        negation = label(alt(try_(fmap(lambda _: True, seq(string("not"), p_delimiter()))), pure(False)), "negation operator (not)")
        operator = label(alt(try_(string("and")), string("or")), "logic operator (and, or)")
        children = fmap(lambda vs: vs[1], seq(lexeme(char("(")), sep_by1(tree, lexeme(char(","))), lexeme(char(")"))))
        expression = fmap(lambda vs: LogicTree(vs[0], vs[1], tuple(vs[2])), seq(negation, operator, children))
        return alt(try_(statement), expression)(s, i)

    return tree


def p_logic_path() -> Parser:
    def build(path: list[str]) -> tuple[list[str], str]:
        op = path[-1]
        return [p for p in path[:-1] if p != "not"], (f"not.{op}" if "not" in path else op)

    return fmap(build, sep_by1(p_field_name(), p_delimiter()))


def p_order() -> Parser:
    def nulls() -> Parser:
        return alt(*(try_(right(p_delimiter(), string(n))) for n in ("nullsfirst", "nullslast")))

    def direction() -> Parser:
        return alt(*(try_(right(p_delimiter(), string(d))) for d in ("asc", "desc")))

    def end() -> Parser:
        return alt(try_(look_ahead(char(","))), try_(eof()))

    def nulls_then_end() -> Parser:
        return alt(left(option_maybe(nulls()), end()), fmap(lambda _: None, end()))

    term = fmap(lambda vs: OrderTerm(vs[0], vs[1], vs[2]), seq(p_field(), option_maybe(direction()), nulls_then_end()))
    relation_term = fmap(
        lambda vs: OrderTerm(vs[1], vs[2], vs[3], relation=vs[0]),
        seq(p_field_name(), between(char("("), char(")"), p_field()), option_maybe(direction()), nulls_then_end()),
    )
    return sep_by1(lexeme(alt(try_(relation_term), term)), char(","))


def p_columns() -> Parser:
    return sep_by1(p_field_name(), lexeme(char(",")))


def p_select() -> Parser:
    alias_separator = seq(char(":"), not_followed_by(char(":")))
    alias = option_maybe(try_(left(p_field_name(), alias_separator)))

    def end() -> Parser:
        return alt(try_(look_ahead(string(")"))), try_(look_ahead(string(","))), try_(eof()))

    aggregation = choice(string("sum"), string("avg"), string("count"), try_(string("max")), try_(string("min")))
    star = fmap(lambda _: SelectItem(None), left(string("*"), end()))
    count = fmap(
        lambda vs: SelectItem(None, alias=vs[0], aggregate="count", cast=vs[2]),
        seq(alias, string("count()"), option_maybe(right(string("::"), p_identifier())), end()),
    )
    plain = fmap(
        lambda vs: SelectItem(vs[1], alias=vs[0], cast=vs[2], aggregate=vs[3]),
        seq(alias, p_field(), option_maybe(right(string("::"), p_identifier())),
            option_maybe(try_(left(right(char("."), aggregation), string("()")))), option_maybe(right(string("::"), p_identifier())), end()),
    )
    field_select = lexeme(alt(try_(star), try_(count), plain))

    def embed_params() -> Parser:
        param = right(char("!"), alt(try_(string("left")), try_(string("inner")), try_(p_field_name())))
        return seq(option_maybe(param), option_maybe(param))

    def forest(s: str, i: int) -> Reply:
        named = bind(seq(alias, p_field_name()), lambda vs: (zero() if vs[1] == "count" else pure(vs)))
        relation = lexeme(fmap(lambda vs: vs[0], seq(named, embed_params(), try_(look_ahead(string("("))))))
        spread = lexeme(fmap(lambda vs: vs[0], seq(right(string("..."), p_field_name()), embed_params(), try_(look_ahead(string("("))))))
        sub = between(char("("), char(")"), forest)
        tree = alt(
            fmap(lambda vs: SelectItem(None, relation="..." + vs[0], children=tuple(vs[1])), seq(try_(spread), sub)),
            fmap(lambda vs: SelectItem(None, alias=vs[0][0], relation=vs[0][1], children=tuple(vs[1])), seq(try_(relation), sub)),
            field_select,
        )
        return sep_by(tree, lexeme(char(",")))(s, i)

    return forest
