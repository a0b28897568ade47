//! Endpoint templates are tenant input that the worker renders for every delivery: whatever a template does, a
//! render ends as output or as a "template error: …", within bounded memory. Fuel alone counts instructions, not
//! bytes: a template under 1 KB that doubles a string forty times used to abort the whole process (and, guarded by
//! `is defined`, to pass the save-time check and then kill the worker on every restart).
//!
//! Each hostile case runs in a child process (this test binary, re-run for one case) under an address-space limit,
//! so a regression shows up as that case failing by name instead of as the test runner (or the machine) running
//! out of memory.

use integration_hub::server::delivery::template::{render_template, MAX_TEMPLATE_OUTPUT};
use serde_json::json;
use std::process::Command;

/// The envelope the hostile cases render against (`data.x` is there, so `is defined` guards pass).
fn envelope() -> serde_json::Value {
    json!({"id": "evt_1", "type": "order.created", "timestamp": "2026-01-01T00:00:00Z", "tenant_id": "ten_1",
           "data": {"x": 1, "name": "Ada", "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}]}})
}

fn doubling(times: usize) -> String {
    let mut t = String::from(r#"{% set a = "x" ~ "x" %}"#);
    for _ in 0..times {
        t.push_str("{% set a = a ~ a %}");
    }
    t.push_str("{{ a|length }}");
    t
}

/// Templates of at most a few hundred bytes whose renders, unbounded, need gigabytes to terabytes.
fn hostile_cases() -> Vec<(&'static str, String)> {
    vec![
        ("a string doubled forty times", doubling(40)),
        (
            "doubling in a loop",
            r#"{% set ns = namespace(a="x") %}{% for i in range(64) %}{% set ns.a = ns.a ~ ns.a %}{% endfor %}{{ ns.a }}"#
                .into(),
        ),
        ("doubling guarded by `is defined`", format!("{{% if data.x is defined %}}{}{{% endif %}}", doubling(40))),
        ("doubling with +", r#"{% set ns = namespace(a="x") %}{% for i in range(64) %}{% set ns.a = ns.a + ns.a %}{% endfor %}{{ ns.a }}"#.into()),
        ("a string repeated a billion times", r#"{{ "x" * 1000000000 }}"#.into()),
        ("repeats of the largest repeat minijinja allows", r#"{% for i in range(100000) %}{{ "x" * 99999999 }}{% endfor %}"#.into()),
        ("a range repeated and joined", "{{ (range(100000) * 100000)|join }}".into()),
        ("a range joined with a huge separator", r#"{{ range(100000)|join("x" * 99999999) }}"#.into()),
        ("a repeated list materialised", "{{ ([1] * 100000 * 100000)|list|length }}".into()),
        (
            "a recursive macro doubling its argument",
            "{% macro m(s, n) %}{% if n == 0 %}{{ s|length }}{% else %}{{ m(s ~ s, n - 1) }}{% endif %}{% endmacro %}\
             {{ m('x', 60) }}"
                .into(),
        ),
        (
            "a recursive macro doubling its output",
            format!(
                "{{% macro m(n) %}}{{% if n == 0 %}}{}{{% else %}}{{{{ m(n - 1) }}}}{{{{ m(n - 1) }}}}{{% endif %}}\
                 {{% endmacro %}}{{% set s = m(10) %}}{{{{ s|length }}}}",
                "m".repeat(4096)
            ),
        ),
        (
            "a list nested in itself forty times in a loop, printed",
            r#"{% set ns = namespace(l=["x"]) %}{% for i in range(40) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l }}"#
                .into(),
        ),
        ("nested lists doubled forty times, printed", nested_list(40, "{{ l }}")),
        ("nested lists doubled forty times, as JSON", nested_list(40, "{{ l|tojson }}")),
        ("nested lists doubled forty times, upper-cased", nested_list(40, "{{ l|upper|length }}")),
        ("nested lists doubled forty times, concatenated", nested_list(40, "{{ (l ~ '')|length }}")),
        ("a replace that multiplies", r#"{{ ("x" * 99999)|replace("x", "y" * 99999)|length }}"#.into()),
        ("an indent a billion wide", r#"{% for i in range(1000) %}{{ ("a\n" * 1000)|indent(1000000000)|length }}{% endfor %}"#.into()),
        ("a format width of a billion", r#"{% for i in range(1000) %}{{ "%999999999s"|format("x") }}{% endfor %}"#.into()),
        ("a batch padded to a billion", "{{ [1]|batch(1000000000, fill_with=0)|list|length }}".into()),
        ("a chain of chains", chained(40)),
        ("tojson indented a billion", r#"{{ [1, 2]|tojson(indent=1000000000) }}"#.into()),
        (
            "a captured block in a loop",
            format!("{{% set x %}}{{% for i in range(20000) %}}{}{{% endfor %}}{{% endset %}}{{{{ x|length }}}}", "r".repeat(4096)),
        ),
        (
            "many large strings kept alive",
            r#"{% set ns = namespace(l=[]) %}{% for i in range(20000) %}{% set ns.l = ns.l + [("x" * 200000) ~ i] %}{% endfor %}{{ ns.l|length }}"#
                .into(),
        ),
    ]
}

fn nested_list(depth: usize, print: &str) -> String {
    let mut t = String::from(r#"{% set l = ["xxxxxxxx"] %}"#);
    for _ in 0..depth {
        t.push_str("{% set l = [l, l] %}");
    }
    t.push_str(print);
    t
}

fn chained(depth: usize) -> String {
    let mut t = String::from("{% set l = range(100) %}");
    for _ in 0..depth {
        t.push_str("{% set l = l|chain(l) %}");
    }
    t.push_str("{{ l|list|length }}");
    t
}

const CHILD_ENV: &str = "TEMPLATE_LIMITS_CASE";

/// Renders hostile case `case` in a child process limited to 1 GiB of address space: `Ok` with the child's verdict
/// line (`ERROR …` or `RENDERED …`), `Err` with how the child died.
fn render_in_child(case: usize) -> Result<String, String> {
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -v 1048576 && exec "$0" "$@""#)
        .arg(exe)
        .args(["render_one_hostile_case_in_this_process", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, case.to_string())
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("spawn the child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.lines().find(|l| l.starts_with("RENDERED") || l.starts_with("ERROR")) {
        Some(line) if out.status.success() => Ok(line.to_string()),
        _ => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            Err(format!("died ({}): {}", out.status, stderr.lines().next().unwrap_or_default()))
        }
    }
}

/// The child half of the hostile-case tests: renders the case named by the environment (does nothing otherwise).
#[test]
fn render_one_hostile_case_in_this_process() {
    let Some(case) = std::env::var(CHILD_ENV).ok().and_then(|v| v.parse::<usize>().ok()) else { return };
    let (_, template) = &hostile_cases()[case];
    match render_template(template, &envelope()) {
        // On a line of its own: the test harness prints the test's name before it.
        Ok(out) => println!("\nRENDERED {} bytes", out.len()),
        Err(e) => println!("\nERROR {e}"),
    }
}

/// Runs the cases, two children at a time (each may, on a regression, take its whole gigabyte); returns the
/// ones that did not end in a template error, with what they did instead.
fn cases_not_refused(cases: &[usize]) -> Vec<String> {
    let all = hostile_cases();
    let mut wrong = Vec::new();
    for pair in cases.chunks(2) {
        let children: Vec<_> = pair.iter().map(|&i| (i, std::thread::spawn(move || render_in_child(i)))).collect();
        for (i, child) in children {
            let name = &all[i].0;
            match child.join().expect("child thread") {
                Ok(line) if line.starts_with("ERROR template error: ") => {}
                Ok(line) => wrong.push(format!("{name}: {line}")),
                Err(death) => wrong.push(format!("{name}: {death}")),
            }
        }
    }
    wrong
}

#[test]
fn template_that_doubles_a_string_thirty_times_is_a_template_error_not_a_crash() {
    // Forty doublings, not thirty: with memory to spare thirty (1 GiB) may still fit; forty never does.
    let wrong = cases_not_refused(&[0, 2]);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn hostile_templates_are_template_errors_not_crashes() {
    let n = hostile_cases().len();
    let wrong = cases_not_refused(&(0..n).collect::<Vec<_>>());
    assert!(wrong.is_empty(), "{} of {n} cases:\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn output_past_the_limit_is_a_template_error_and_up_to_it_renders() {
    let env = envelope();
    let at = format!("{{{{ 'x' * {MAX_TEMPLATE_OUTPUT} }}}}");
    assert_eq!(render_template(&at, &env).unwrap().len(), MAX_TEMPLATE_OUTPUT);
    let past = format!("{{{{ 'x' * {MAX_TEMPLATE_OUTPUT} }}}}y");
    let e = render_template(&past, &env).unwrap_err();
    assert!(e.starts_with("template error: ") && e.contains("KiB"), "{e}");
    // The same through many small pieces, through raw text and through a loop.
    let pieces = format!("{{% for i in range({}) %}}xxxxxxxx{{% endfor %}}", MAX_TEMPLATE_OUTPUT / 8 + 1);
    assert!(render_template(&pieces, &env).unwrap_err().starts_with("template error: "));
}

/// Templates as tenants write them render exactly as plain minijinja renders them: the limits change nothing
/// below them.
#[test]
fn ordinary_templates_render_as_plain_minijinja_renders_them() {
    let env = envelope();
    let templates = [
        r#"{"text": "Order {{ data.name }} ({{ id }})"}"#,
        r#"{"who": {{ data.name|tojson }}, "n": {{ data["items"]|length }}, "skus": {{ data["items"]|map(attribute="sku")|list|tojson }}}"#,
        "{% for i in data['items'] %}{{ loop.index }}:{{ i.sku ~ '-' ~ i.qty }}{% if not loop.last %},{% endif %}{% endfor %}",
        "{% set total = 0 %}{% set ns = namespace(t=0) %}{% for i in data['items'] %}{% set ns.t = ns.t + i.qty %}{% endfor %}{{ ns.t }} {{ 2 * 3 }} {{ 'ab' * 3 }} {{ [1] + [2, 3] }} {{ 1.5 + 2 }} {{ 'a' + 'b' }}",
        "{% macro row(k, v) %}{{ k }}={{ v }}{% endmacro %}{{ row('a', 1) }};{{ row(k='b', v=data.x) }}",
        "{% if data.missing is defined %}yes{% else %}no{% endif %}|{{ data.name|upper }}|{{ data.name|lower|replace('a', 'A') }}",
        "{{ data|tojson(indent=2) }}\n{{ data|dictsort|list }}\n{{ data['items']|sort(attribute='qty')|map(attribute='sku')|join(', ') }}",
        "{% filter upper %}loud {{ data.name }}{% endfilter %} {% set block %}captured {{ type }}{% endset %}{{ block|trim }}",
        "{% autoescape 'html' %}{{ '<b>' }}{% endautoescape %} {% autoescape 'json' %}{{ data['items'] }}{% endautoescape %}",
        "{{ '%s has %d items'|format(data.name, data['items']|length) }} {{ 'x\ny'|indent(2, true) }} {{ [1,2,3,4,5]|batch(2)|list }}",
        "{{ range(5)|join('-') }} {{ range(3)|chain([7])|list }} {{ [3,1,2]|sort|reverse|list }} {{ 'a,b'|split(',')|list }}",
        "{% for k, v in data|items %}{{ k }}{% endfor %} {{ data.name[1:] }} {{ data.name|reverse }} {{ [1,2,1]|unique|list }}",
        "{{ data.name ~ 1 ~ none ~ true }} {{ (data['items']|first).sku }} {{ data['items']|selectattr('qty', 'gt', 1)|list|length }}",
        "{% for row in [[1, 2], [3]] recursive %}{% if row is iterable %}[{{ loop(row) }}]{% else %}{{ row }}{% endif %}{% endfor %}",
        "{% set a, b = [1, 2] %}{{ a }}{{ b }} {{ {'k': 'v'}.k }} {{ dict(a=1)|tojson }} {{ 'x' in 'xyz' }} {{ data.x is number }}",
        "{% for i in range(3) %}{% for j in range(2) %}{{ i }}{{ j }}{% endfor %}{% else %}none{% endfor %}{% for x in [] %}{% else %}empty{% endfor %}",
        "{% with y = data.x + 1 %}{{ y }}{% endwith %}{{ [1,2]|pprint }}{{ data.name|string|title }}{{ 'a b'|capitalize }}{{ '  x '|trim }}",
        "{% raw %}{{ not a tag }}{% endraw %} {{ 10 // 3 }} {{ 10 % 3 }} {{ 2 ** 8 }} {{ -(data.x) }} {{ data.x|float }} {{ 3.7|round }}",
    ];
    let plain = {
        let mut e = minijinja::Environment::new();
        e.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        e
    };
    for t in templates {
        let want = plain.render_str(t, &env).unwrap_or_else(|e| panic!("{t}: plain minijinja: {e:#}"));
        let got = render_template(t, &env).unwrap_or_else(|e| panic!("{t}: {e}"));
        assert_eq!(got, want, "{t}");
    }
    // Errors stay errors, with their location.
    for t in ["line one\n{{ data.nope.deeper }}", "line one\n{{ data.nope ~ 'x' }}", "\n{{ 'x' ~ data.nope }}"] {
        let e = render_template(t, &env).unwrap_err();
        assert!(e.starts_with("template error: ") && e.contains("undefined") && e.contains("<string>:2"), "{e}");
    }
    assert!(render_template("{% for %}", &env).unwrap_err().contains("syntax error"));
    // The guards' names cannot be taken over by the template.
    let e = render_template("{% set __hub_guard_concat = 1 %}{{ 'a' ~ 'b' }}", &env).unwrap_err();
    assert!(e.contains("reserved"), "{e}");
}
