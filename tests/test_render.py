from pathlib import Path

import pytest

from batchspec.spec.document import LoadedSpec
from batchspec.spec.render import MAX_REPORTS_PER_FIELD, Renderer, has_markup
from batchspec.spec.sandbox import make_environment, quote

WHERE = ("job", "tasks", 0, "command")


def _renderer() -> Renderer:
    loaded = LoadedSpec(
        path=Path("spec.yaml"),
        raw=b"",
        data={},
        positions={("job", "tasks", 0, "command"): (7, 9), ("job",): (3, 1)},
    )
    return Renderer(loaded)


def _render(source: str, **context: object) -> tuple[str | None, list[str]]:
    renderer = _renderer()
    compiled = renderer.compile(source, WHERE)
    value = None if compiled is None else renderer.render(compiled, renderer.context(**context))
    return value, [str(d) for d in renderer.problems]


def test_quote_filter_makes_values_safe_for_a_shell() -> None:
    assert quote("plain.txt") == "plain.txt"
    assert quote("it's; rm -rf /") == "'it'\"'\"'s; rm -rf /'"
    assert quote(3) == "3"
    value, problems = _render("cat {{ name | quote }}", name="a b.txt")
    assert (value, problems) == ("cat 'a b.txt'", [])


def test_no_autoescape_and_attribute_access_on_mappings() -> None:
    value, _ = _render("{{ vars.x }} <{{ item.name }}>", vars={"x": "a&b"}, item={"name": "<i>"})
    assert value == "a&b <<i>>"


def test_a_key_named_like_a_dict_method_is_the_key() -> None:
    value, problems = _render(
        "{{ vars.keys }} {{ item.values }} {{ item.get }}",
        vars={"keys": "k"},
        item={"values": "v", "get": 2},
    )
    assert (value, problems) == ("k v 2", [])
    # Without such a key, a mapping's read-only methods still work.
    value, problems = _render("{{ vars.items() | list }}", vars={"n": 1})
    assert (value, problems) == ("[('n', 1)]", [])


@pytest.mark.parametrize(
    "source",
    ["{{ [vars.missing] }}", "{{ {'a': vars.missing} }}", "{{ (1, vars.missing) | pprint }}"],
)
def test_an_undefined_name_inside_a_list_or_mapping_is_reported(source: str) -> None:
    value, problems = _render(source, vars={"n": 1})
    assert value is None
    assert problems == [
        "spec.yaml:7:9: $.job.tasks[0].command: undefined template variable: "
        "'dict object' has no attribute 'missing'"
    ]


@pytest.mark.parametrize(
    ("source", "name"),
    [("{{ vars.keys }}", "keys"), ("{{ item.values }}", "values"), ("{{ dict }}", "dict")],
)
def test_a_method_is_not_printed_as_a_value(source: str, name: str) -> None:
    value, problems = _render(source, vars={"n": 1}, item={"a": 1})
    assert value is None
    assert problems == [
        "spec.yaml:7:9: $.job.tasks[0].command: undefined template variable: "
        f"{name!r} is a function or method, not a value: no such key, or a call's () is missing"
    ]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "{{ ['a', 'b'] | map('upper') }}",
            "a generator is not a value that can be shown (add | list)",
        ),
        ("{{ cycler(1, 2) }}", "a Cycler is not a value that can be shown"),
        ("{{ namespace(a=1) }}", "a Namespace is not a value that can be shown"),
    ],
)
def test_only_data_is_printed(source: str, message: str) -> None:
    value, problems = _render(source)
    assert value is None
    assert problems == [
        f"spec.yaml:7:9: $.job.tasks[0].command: undefined template variable: {message}"
    ]
    value, problems = _render("{{ ['a', 'b'] | map('upper') | list }} {{ 1.5 }} {{ none }}")
    assert (value, problems) == ("['A', 'B'] 1.5 None", [])


def test_plain_text_is_not_compiled() -> None:
    renderer = _renderer()
    compiled = renderer.compile("echo hello", WHERE)
    assert compiled is not None and compiled.template is None
    assert renderer.render(compiled, {}) == "echo hello"
    assert not has_markup("echo $HOME {x}") and has_markup("{{ x }}") and has_markup("{% if %}")


def test_undefined_variable_is_located() -> None:
    value, problems = _render("echo {{ vars.missing }}", vars={"n": 1})
    assert value is None
    assert problems == [
        "spec.yaml:7:9: $.job.tasks[0].command: undefined template variable: "
        "'dict object' has no attribute 'missing'"
    ]


def test_syntax_error_is_located() -> None:
    value, problems = _render("echo {{ item.name ")
    assert value is None
    assert len(problems) == 1
    assert problems[0].startswith("spec.yaml:7:9: $.job.tasks[0].command: template syntax error:")


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ item.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os.system('id') }}",
        "{{ item.update({'x': 1}) }}",
        "{{ 'a' * 100000000 }}",
        "{{ 10 ** 100000 }}",
        "{{ 'x' | center(1000000000) }}",
        "{{ 'x' | indent(1000000000) }}",
        "{{ 'x'.center(1000000000) }}",
        "{{ 'x'.zfill(10 ** 9) }}",
        "{{ '%999999999s' % 'x' }}",
        "{{ '%-0999999999d' | format(1) }}",
        "{{ '{:>999999999}'.format('x') }}",
        "{{ '{:>{w}}'.format('x', w=999999999) }}",
        "{{ '{a:>9999999}'.format_map({'a': 1}) }}",
        "{{ '%*s' % (999999999, 'x') }}",
        "{{ '%*s' | format(999999999, 'x') }}",
        "{% for i in range(100000) %}{{ 'x' * 999999 }}{% endfor %}",
    ],
)
def test_sandbox_escapes_are_diagnostics(source: str) -> None:
    value, problems = _render(source, item={"name": "x"})
    assert value is None
    assert len(problems) == 1
    assert problems[0].startswith("spec.yaml:7:9: $.job.tasks[0].command: ")


def test_runtime_errors_in_template_code_are_diagnostics() -> None:
    value, problems = _render("{{ 1 // 0 }}")
    assert value is None
    assert problems == [
        "spec.yaml:7:9: $.job.tasks[0].command: the template failed: "
        "ZeroDivisionError: integer division or modulo by zero"
    ]


def test_rendering_has_no_randomness() -> None:
    assert "lipsum" not in make_environment().globals
    _, problems = _render("{{ lipsum() }}")
    assert problems and "undefined" in problems[0]


def test_repeated_failures_are_capped_per_field() -> None:
    renderer = _renderer()
    compiled = renderer.compile("{{ item.nope }}", WHERE)
    assert compiled is not None
    for i in range(500):
        assert renderer.render(compiled, renderer.context(item={}), f"task {i}: ") is None
    renderer.summarize()
    assert len(renderer.problems) == MAX_REPORTS_PER_FIELD + 1
    assert renderer.problems[-1].message == (
        f"tasks: {500 - MAX_REPORTS_PER_FIELD} more fail in this field "
        f"(only the first {MAX_REPORTS_PER_FIELD} are shown)"
    )


def test_a_template_is_compiled_once_and_reused() -> None:
    renderer = _renderer()
    compiled = renderer.compile("{{ index }}-{{ item }}", WHERE)
    assert compiled is not None
    values = [
        renderer.render(compiled, renderer.context(index=i, item=c)) for i, c in enumerate("abc")
    ]
    assert values == ["0-a", "1-b", "2-c"]


def test_a_field_that_does_not_depend_on_the_task_is_rendered_once() -> None:
    renderer = _renderer()
    compiled = renderer.compile("{{ vars.x.missing }}", WHERE)
    assert compiled is not None and not compiled.per_task
    for i in range(50):
        assert renderer.render(compiled, renderer.context(vars={"x": {}}, index=i)) is None
    renderer.summarize()
    assert len(renderer.problems) == 1
    ok = renderer.compile("{{ vars.x }}", ("pool", "id"))
    assert ok is not None
    assert renderer.render(ok, renderer.context(vars={"x": "a"})) == "a"
    per_task = renderer.compile("{{ vars.x }}-{{ index }}", ("job", "id"))
    assert per_task is not None and per_task.per_task


@pytest.mark.parametrize(
    ("source", "hint"),
    [
        (
            "{{ vars.num_word }}",
            "'dict object' has no attribute 'num_word'; did you mean 'vars.num_words'?",
        ),
        (
            "{{ item.stemm | quote }}",
            "'dict object' has no attribute 'stemm'; did you mean 'item.stem'?",
        ),
        ("{{ itme.stem }}", "'itme' is undefined; did you mean 'item'?"),
        ("{{ nothing_like_it }}", "'nothing_like_it' is undefined"),
        ("{{ vars.zzz }}", "'dict object' has no attribute 'zzz'"),
    ],
)
def test_undefined_names_get_a_did_you_mean(source: str, hint: str) -> None:
    _, problems = _render(source, vars={"num_words": 3}, item={"stem": "a", "name": "a.txt"})
    assert problems == [
        f"spec.yaml:7:9: $.job.tasks[0].command: undefined template variable: {hint}"
    ]


def test_ordinary_widths_and_formats_still_work() -> None:
    source = (
        "{{ '%05d' | format(7) }} {{ '{:,}'.format(1234567) }} {{ 'ab' | center(6) }}|"
        "{{ '%.3f' % 3.14159 }} {{ 'x'.rjust(3, '-') }} {{ 2 ** 10 }} {{ 'ab' * 3 }}|"
        "{{ '%*d' % (3, 7) }} {{ '{:>{w}}'.format('x', w=3) }} {{ '%*s' | format(2, 'y') }}"
    )
    value, problems = _render(source)
    assert (value, problems) == (
        "00007 1,234,567   ab  |3.142 --x 1024 ababab|  7   x  y",
        [],
    )
