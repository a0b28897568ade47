//! Endpoint templates: minijinja, rendered by the worker for every delivery from a template a tenant wrote, with
//! every way a render can take memory bounded.
//!
//! Fuel bounds the instructions a render runs, not the bytes they build: `{% set a = a ~ a %}` is a handful of
//! instructions and doubles a string, so a template under 1 KB can reach gigabytes within its fuel, and the
//! allocation failure aborts the whole process (guarded by `is defined`, such a template passes the save-time
//! check and would take the worker down on every restart). minijinja has no hook for operators or for raw
//! template text, so the compiled template is rewritten before it runs (`unstable_machinery`, which is why
//! minijinja is pinned to one version):
//!
//! - `~`, `+`, `*` and `in` first call a guard that measures the operands (without building anything) and refuses
//!   a result past the limits, then run minijinja's own operator, so results are exactly minijinja's;
//! - raw template text is emitted like `{{ … }}` output, so every byte written, to the output or into a
//!   `{% set %}` block, a macro's or a filter block's capture, goes through one formatter that measures it;
//! - every builtin filter that builds text or lists is replaced by a wrapper that bounds its result before
//!   calling the builtin (a `replace`, `join`, `indent`, `format` or `tojson` whose result would be too large is
//!   refused before it is built) and counts what it built; `debug()` is removed;
//! - constant expressions, which the compiler folds (builds) while compiling, are measured on the syntax tree
//!   first (`folding`, below).
//!
//! Each render may build at most [`TEMPLATE_WORK_BUDGET`] bytes in all (text, captures, lists), no single text
//! longer than [`MAX_TEMPLATE_OUTPUT`], and no list longer than [`MAX_TEMPLATE_ITEMS`]. Past any of them the
//! render stops with a "template error: …", like any other template error. What is not bounded: the time spent
//! comparing or searching values inside one operation (fuel counts the operation once).
//!
//! One file, long, because it is one mechanism: the operator guards, the formatter, the wrapped filters and the
//! folding check each close one way around the budget, and changing one means checking the others.

use minijinja::machinery::{self, Instruction, Instructions};
use minijinja::value::{Rest, Value, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State, UndefinedBehavior};
use std::cell::Cell;
use std::fmt::{self, Write as _};

/// The longest text a render may produce: the request body, and any single string a template builds.
pub const MAX_TEMPLATE_OUTPUT: usize = 256 * 1024;
/// What one render may build in all: every string, captured block, emitted piece and materialised list
/// (at the size of its item slots), counted when built and never given back. Bounds a render's memory.
pub const TEMPLATE_WORK_BUDGET: usize = 16 * 1024 * 1024;
/// The most items a list built by a template may have (`range` has the same limit).
pub const MAX_TEMPLATE_ITEMS: usize = 100_000;
/// Instructions a render may run.
pub const TEMPLATE_FUEL: u64 = 100_000;
/// `tojson(indent=…)` builds its indentation string once per level.
const MAX_JSON_INDENT: usize = 16;
/// Names of the operator guards; a template may not use names with this prefix, or it could replace a guard with
/// a variable of its own.
const RESERVED_PREFIX: &str = "__hub_";
const GUARD_CONCAT: &str = "__hub_guard_concat";
const GUARD_ADD: &str = "__hub_guard_add";
const GUARD_MUL: &str = "__hub_guard_mul";
const GUARD_IN: &str = "__hub_guard_in";

/// Renders a template against an envelope; the error is what the sender records as a template failure.
pub fn render_template(template: &str, envelope: &serde_json::Value) -> Result<String, String> {
    render(template, envelope, &ENVIRONMENT).map_err(|e| format!("template error: {e}"))
}

/// Renders a message template (a chat message's or an email's parts): the same limits, but a field the event
/// does not have is empty rather than an error (`ticket.assignee.name` of an unassigned ticket), so one
/// event without an optional field still gets its message.
pub fn render_message_part(template: &str, context: &serde_json::Value) -> Result<String, String> {
    render(template, context, &MESSAGE_ENVIRONMENT).map_err(|e| format!("template error: {e}"))
}

fn render(
    template: &str,
    envelope: &serde_json::Value,
    env: &'static std::thread::LocalKey<Environment<'static>>,
) -> Result<String, Error> {
    if template.contains(RESERVED_PREFIX) {
        return Err(Error::new(ErrorKind::SyntaxError, format!("names starting with {RESERVED_PREFIX} are reserved")));
    }
    let _budget = Budget::start(TEMPLATE_WORK_BUDGET);
    // Compiled here rather than by `template_from_str`, to look at the syntax tree first: the compiler folds
    // constant expressions, so `"x" * 99999999 ~ "x" * 99999999 ~ …` would be built while compiling.
    let name = "<string>";
    let ast = machinery::parse(template, name, Default::default(), Default::default())?;
    folding::check_stmt(&ast)?;
    let mut codegen = machinery::CodeGenerator::new(name, template);
    codegen.compile_stmt(&ast);
    let (instructions, blocks) = codegen.finish();
    let instructions = guarded(&instructions);
    let blocks = blocks.iter().map(|(name, b)| (*name, guarded(b))).collect();
    let mut rendered = String::new();
    env.with(|env| {
        machinery::Vm::new(env)
            .eval(
                &instructions,
                Value::from_serialize(envelope),
                &blocks,
                &mut machinery::make_string_output(&mut rendered),
                AutoEscape::None,
            )
            .map(drop)
    })?;
    // Pieces are bounded one by one as they are written; the whole is bounded here.
    if rendered.len() > MAX_TEMPLATE_OUTPUT {
        return Err(too_long());
    }
    Ok(rendered)
}

// ---- the limits -------------------------------------------------------------------------------------------

thread_local! {
    /// Built once per thread: building it (the filter wrappers) costs more than rendering a small template.
    static ENVIRONMENT: Environment<'static> = environment(UndefinedBehavior::Strict);
    static MESSAGE_ENVIRONMENT: Environment<'static> = environment(UndefinedBehavior::Chainable);
    /// What the render running on this thread may still build. A render runs start to end on one thread (the
    /// VM is synchronous); outside a render it is 0, so a guard called any other way refuses everything.
    static BUDGET: Cell<usize> = const { Cell::new(0) };
}

struct Budget(usize);

impl Budget {
    fn start(bytes: usize) -> Budget {
        Budget(BUDGET.with(|b| b.replace(bytes)))
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        BUDGET.with(|b| b.set(self.0));
    }
}

fn too_long() -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("the result would be longer than {} KiB, the most a template may produce", MAX_TEMPLATE_OUTPUT / 1024),
    )
}

fn over_budget() -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("the template builds more than {} MiB in all, the most a render may", TEMPLATE_WORK_BUDGET >> 20),
    )
}

fn too_many_items() -> Error {
    Error::new(ErrorKind::InvalidOperation, format!("a list would have more than {MAX_TEMPLATE_ITEMS} items"))
}

/// Counts `bytes` against the render's budget.
fn charge(bytes: usize) -> Result<(), Error> {
    BUDGET.with(|b| match b.get().checked_sub(bytes) {
        Some(left) => {
            b.set(left);
            Ok(())
        }
        None => Err(over_budget()),
    })
}

/// A new text of `len` bytes: within the longest allowed, and counted.
fn text(len: usize) -> Result<(), Error> {
    if len > MAX_TEMPLATE_OUTPUT {
        return Err(too_long());
    }
    charge(len)
}

/// What a builtin built, counted: text by its bytes, a materialised list by its item slots.
fn charge_value(v: &Value) -> Result<(), Error> {
    if let Some(s) = v.as_str() {
        text(s.len())
    } else if v.kind() == ValueKind::Seq {
        let n = v.len().unwrap_or(0);
        if n > MAX_TEMPLATE_ITEMS {
            return Err(too_many_items());
        }
        charge(n * std::mem::size_of::<Value>())
    } else {
        Ok(())
    }
}

/// A `fmt::Write` that only counts, and fails past `cap` so whatever writes into it stops there.
struct Count {
    n: usize,
    cap: usize,
}

impl fmt::Write for Count {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.n += s.len();
        if self.n > self.cap {
            Err(fmt::Error)
        } else {
            Ok(())
        }
    }
}

impl std::io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // `tojson` turns each of < > & ' into a six-byte escape after serialising.
        let escapes = buf.iter().filter(|b| matches!(b, b'<' | b'>' | b'&' | b'\'')).count();
        self.n += buf.len() + 5 * escapes;
        if self.n > self.cap {
            Err(std::io::Error::other("too long"))
        } else {
            Ok(buf.len())
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The length of `v` as text, counted without building it (a value nested in itself forty times has a short
/// definition and a text of terabytes); an error past `cap`.
fn display_len(v: &Value, cap: usize) -> Result<usize, Error> {
    if let Some(s) = v.as_str() {
        return if s.len() > cap { Err(too_long()) } else { Ok(s.len()) };
    }
    let mut c = Count { n: 0, cap };
    write!(c, "{v}").map_err(|_| too_long())?;
    Ok(c.n)
}

/// Values that minijinja turns into text by formatting the whole value.
fn is_container(v: &Value) -> bool {
    !v.is_kwargs() && matches!(v.kind(), ValueKind::Seq | ValueKind::Map | ValueKind::Iterable | ValueKind::Plain)
}

fn is_seq(v: &Value) -> bool {
    matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable)
}

/// How many items `v` has, counting a lazy sequence of unknown length only up to just past the limit.
fn item_count(v: &Value) -> usize {
    match v.len() {
        Some(n) => n,
        None => v.try_iter().map_or(0, |it| it.take(MAX_TEMPLATE_ITEMS + 1).count()),
    }
}

// ---- the rewrite ------------------------------------------------------------------------------------------

/// The instructions with each guarded operator preceded by its guard, and raw text emitted through the
/// formatter. Instructions are added, so every jump target (and macro entry) is moved to where its instruction
/// now is.
fn guarded<'s>(old: &Instructions<'s>) -> Instructions<'s> {
    let mut new = Instructions::new(old.name(), old.source());
    let mut moved = Vec::with_capacity(old.len() + 1);
    for pc in 0..old.len() as u32 {
        moved.push(new.len() as u32);
        let Some(instr) = old.get(pc) else { break };
        let (span, line) = (old.get_span(pc), old.get_line(pc).unwrap_or(0) as u16);
        let mut add = |i: Instruction<'s>| match span {
            Some(span) => new.add_with_span(i, span),
            None => new.add_with_line(i, line),
        };
        let guard = match instr {
            Instruction::StringConcat => Some(GUARD_CONCAT),
            Instruction::Add => Some(GUARD_ADD),
            Instruction::Mul => Some(GUARD_MUL),
            // Chained comparisons (`a in b in c`, `a < b < c`): the guard only acts on `in`'s case.
            Instruction::In | Instruction::CompareAndPreserve(_) => Some(GUARD_IN),
            _ => None,
        };
        if let Some(guard) = guard {
            // The guard takes both operands and, when they pass, gives them back as a list that UnpackList puts
            // on the stack again in their order for the operator itself.
            add(Instruction::CallFunction(guard, Some(2)));
            add(Instruction::UnpackList(2));
            add(instr.clone());
        } else if let Instruction::EmitRaw(raw) = instr {
            add(Instruction::LoadConst(Value::from_safe_string((*raw).to_string())));
            add(Instruction::Emit);
        } else {
            add(instr.clone());
        }
    }
    moved.push(new.len() as u32);
    let to = |t: &mut u32| *t = moved.get(*t as usize).copied().unwrap_or(*t);
    for pc in 0..new.len() as u32 {
        if let Some(
            Instruction::Jump(t)
            | Instruction::JumpIfFalse(t)
            | Instruction::JumpIfFalseOrPop(t)
            | Instruction::JumpIfTrueOrPop(t)
            | Instruction::Iterate(t)
            | Instruction::BuildMacro(_, t, _),
        ) = new.get_mut(pc)
        {
            to(t);
        }
    }
    new
}

// ---- the guards -------------------------------------------------------------------------------------------

/// The operands back, for `UnpackList(2)` (which pushes a list's items so that its first ends on top).
fn operands(left: Value, right: Value) -> Value {
    Value::from(vec![right, left])
}

/// `left ~ right` formats both operands.
fn guard_concat(left: Value, right: Value) -> Result<Value, Error> {
    let l = display_len(&left, MAX_TEMPLATE_OUTPUT)?;
    let r = display_len(&right, MAX_TEMPLATE_OUTPUT - l)?;
    text(l + r)?;
    Ok(operands(left, right))
}

/// `+` joins two texts, or two sequences (lazily: the length is what grows, and a later `list`, `join` or loop
/// pays for it).
fn guard_add(left: Value, right: Value) -> Result<Value, Error> {
    if let (Some(l), Some(r)) = (left.as_str(), right.as_str()) {
        text(l.len() + r.len())?;
    } else if is_seq(&left) && is_seq(&right) && item_count(&left) + item_count(&right) > MAX_TEMPLATE_ITEMS {
        return Err(too_many_items());
    }
    Ok(operands(left, right))
}

/// `*` repeats a text or a sequence (as minijinja does: a text on either side first, then a sequence).
fn guard_mul(left: Value, right: Value) -> Result<Value, Error> {
    let (repeated, times) = if left.as_str().is_some() || (right.as_str().is_none() && is_seq(&left)) {
        (&left, &right)
    } else {
        (&right, &left)
    };
    if let Some(times) = times.as_usize() {
        if let Some(s) = repeated.as_str() {
            text(s.len().checked_mul(times).ok_or_else(too_long)?)?;
        } else if is_seq(repeated) && item_count(repeated).checked_mul(times).is_none_or(|n| n > MAX_TEMPLATE_ITEMS) {
            return Err(too_many_items());
        }
    }
    Ok(operands(left, right))
}

/// `x in "text"` formats `x` to search for it.
fn guard_in(left: Value, right: Value) -> Result<Value, Error> {
    if right.as_str().is_some() && is_container(&left) {
        display_len(&left, MAX_TEMPLATE_OUTPUT)?;
    }
    Ok(operands(left, right))
}

/// Every `{{ … }}` and every piece of raw template text, wherever it is written (the output or a capture):
/// measured before it is written, and counted. Escaping is minijinja's own, applied to a value whose text was
/// first measured (escaping makes a text at most six times longer).
fn formatter(out: &mut minijinja::Output, state: &State, value: &Value) -> Result<(), Error> {
    if let Some(s) = value.as_str().filter(|_| value.is_safe() || state.auto_escape() == AutoEscape::None) {
        text(s.len())?;
        return out.write_str(s).map_err(Error::from);
    }
    display_len(value, MAX_TEMPLATE_OUTPUT)?;
    let mut escaped = String::new();
    minijinja::escape_formatter(&mut machinery::make_string_output(&mut escaped), state, value)?;
    text(escaped.len())?;
    out.write_str(&escaped).map_err(Error::from)
}

// ---- the environment --------------------------------------------------------------------------------------

fn environment<'s>(undefined: UndefinedBehavior) -> Environment<'s> {
    let mut env = Environment::new();
    env.set_undefined_behavior(undefined);
    env.set_fuel(Some(TEMPLATE_FUEL));
    env.set_formatter(formatter);
    env.add_function(GUARD_CONCAT, guard_concat);
    env.add_function(GUARD_ADD, guard_add);
    env.add_function(GUARD_MUL, guard_mul);
    env.add_function(GUARD_IN, guard_in);
    // Prints the whole context (the envelope) at any size.
    env.remove_global("debug");
    filters(&mut env);
    tests(&mut env);
    env
}

/// A check run on a filter's arguments before the builtin runs.
type Check = fn(&State, &[Value]) -> Result<(), Error>;

/// Replaces builtin filter `name` with one that runs `check` first and, when `counted`, counts what the builtin
/// built.
fn wrap(env: &mut Environment<'_>, name: &'static str, builtin: Value, check: Check, counted: bool) {
    env.add_filter(name, move |state: &State, args: Rest<Value>| -> Result<Value, Error> {
        check(state, &args)?;
        let rv = builtin.call(state, &args)?;
        if counted {
            charge_value(&rv)?;
        }
        Ok(rv)
    });
}

/// Every builtin filter of minijinja 2.24 (`defaults.rs`), each with what bounds it. Filters that return one of
/// their inputs or a number need nothing; filters that build a text or list from inputs that are themselves
/// bounded are counted; filters whose result can outgrow their inputs are refused before they build it.
fn filters(env: &mut Environment<'_>) {
    use minijinja::filters as f;
    let none: Check = |_, _| Ok(());
    for (name, builtin) in [
        ("length", Value::from_function(f::length)),
        ("count", Value::from_function(f::length)),
        ("default", Value::from_function(f::default)),
        ("d", Value::from_function(f::default)),
        ("round", Value::from_function(f::round)),
        ("abs", Value::from_function(f::abs)),
        ("int", Value::from_function(f::int)),
        ("float", Value::from_function(f::float)),
        ("bool", Value::from_function(f::bool)),
        ("attr", Value::from_function(f::attr)),
        ("first", Value::from_function(f::first)),
        ("last", Value::from_function(f::last)),
        ("min", Value::from_function(f::min)),
        ("max", Value::from_function(f::max)),
        ("sum", Value::from_function(f::sum)),
        ("zip", Value::from_function(f::zip)),
    ] {
        wrap(env, name, builtin, none, false);
    }
    for (name, builtin) in [
        ("items", Value::from_function(f::items)),
        ("dictsort", Value::from_function(f::dictsort)),
        ("reverse", Value::from_function(f::reverse)),
        ("sort", Value::from_function(f::sort)),
        ("list", Value::from_function(f::list)),
        ("unique", Value::from_function(f::unique)),
        ("groupby", Value::from_function(f::groupby)),
        ("select", Value::from_function(f::select)),
        ("reject", Value::from_function(f::reject)),
        ("selectattr", Value::from_function(f::selectattr)),
        ("rejectattr", Value::from_function(f::rejectattr)),
        ("map", Value::from_function(f::map)),
    ] {
        wrap(env, name, builtin, none, true);
    }
    // These turn a non-text argument into text by formatting all of it.
    let as_text: Check = |_, args| {
        args.iter().filter(|a| is_container(a)).try_for_each(|a| display_len(a, MAX_TEMPLATE_OUTPUT).map(drop))
    };
    for (name, builtin) in [
        ("safe", Value::from_function(f::safe)),
        ("escape", Value::from_function(f::escape)),
        ("e", Value::from_function(f::escape)),
        ("lower", Value::from_function(f::lower)),
        ("upper", Value::from_function(f::upper)),
        ("title", Value::from_function(f::title)),
        ("capitalize", Value::from_function(f::capitalize)),
        ("trim", Value::from_function(f::trim)),
        ("split", Value::from_function(f::split)),
        ("lines", Value::from_function(f::lines)),
        ("string", Value::from_function(f::string)),
    ] {
        wrap(env, name, builtin, as_text, true);
    }
    wrap(env, "replace", Value::from_function(f::replace), check_replace, true);
    wrap(env, "indent", Value::from_function(f::indent), check_indent, true);
    wrap(env, "format", Value::from_function(f::format), check_format, true);
    wrap(env, "join", Value::from_function(f::join), check_join, true);
    wrap(env, "tojson", Value::from_function(f::tojson), check_tojson, true);
    wrap(env, "pprint", Value::from_function(f::pprint), check_pprint, true);
    wrap(env, "batch", Value::from_function(f::batch), check_count_arg, true);
    wrap(env, "slice", Value::from_function(f::slice), check_count_arg, true);
    wrap(env, "chain", Value::from_function(f::chain), check_chain, false);
}

/// Tests that format a non-text argument to compare it as text.
fn tests(env: &mut Environment<'_>) {
    use minijinja::tests as t;
    for (name, builtin) in [
        ("in", Value::from_function(t::is_in)),
        ("startingwith", Value::from_function(t::is_startingwith)),
        ("endingwith", Value::from_function(t::is_endingwith)),
    ] {
        env.add_test(name, move |state: &State, args: Rest<Value>| -> Result<bool, Error> {
            for a in args.iter().filter(|a| is_container(a)) {
                display_len(a, MAX_TEMPLATE_OUTPUT)?;
            }
            Ok(builtin.call(state, &args)?.is_true())
        });
    }
}

/// An argument as text (formatted when it is not one), already known to be within the limit.
fn arg_text(args: &[Value], i: usize) -> Result<String, Error> {
    match args.get(i) {
        Some(v) if !v.is_kwargs() => {
            display_len(v, MAX_TEMPLATE_OUTPUT)?;
            Ok(v.as_str().map_or_else(|| v.to_string(), str::to_string))
        }
        _ => Ok(String::new()),
    }
}

/// A positional argument, or else a keyword argument of that name.
fn arg(args: &[Value], i: usize, name: &str) -> Option<Value> {
    match args.get(i) {
        Some(v) if !v.is_kwargs() => Some(v.clone()),
        _ => args.last().filter(|k| k.is_kwargs()).and_then(|k| k.get_attr(name).ok()).filter(|v| !v.is_undefined()),
    }
}

/// Escaping (when on) can make each byte six.
fn escaping(state: &State) -> usize {
    if state.auto_escape() == AutoEscape::None {
        1
    } else {
        6
    }
}

fn within(len: Option<usize>) -> Result<(), Error> {
    match len {
        Some(n) if n <= MAX_TEMPLATE_OUTPUT => Ok(()),
        _ => Err(too_long()),
    }
}

/// `replace(from, to)`: every occurrence (an empty `from` matches between all characters) grows by `to`.
fn check_replace(state: &State, args: &[Value]) -> Result<(), Error> {
    let (s, from, to) = (arg_text(args, 0)?, arg_text(args, 1)?, arg_text(args, 2)?);
    let hits = if from.is_empty() { s.chars().count() + 1 } else { s.matches(from.as_str()).count() };
    let e = escaping(state);
    within(hits.checked_mul(to.len() * e).and_then(|grown| grown.checked_add(s.len() * e)))
}

/// `indent(width)`: each line grows by the width.
fn check_indent(_: &State, args: &[Value]) -> Result<(), Error> {
    let s = arg_text(args, 0)?;
    let width = arg(args, 1, "width").and_then(|w| w.as_usize()).unwrap_or(4);
    let lines = s.matches('\n').count() + 1;
    within(lines.checked_mul(width.saturating_add(1)).and_then(|grown| grown.checked_add(s.len())))
}

/// `format(args…)`: each `%` conversion writes at most the longest argument (escaped, when escaping is on),
/// padded to at most the largest number in the format string, plus a float's digits.
fn check_format(state: &State, args: &[Value]) -> Result<(), Error> {
    let fmt = arg_text(args, 0)?;
    let mut widest = 0usize;
    for a in args.iter().skip(1) {
        widest = widest.max(display_len(a, MAX_TEMPLATE_OUTPUT)?);
    }
    let numbers = fmt
        .split(|c: char| !c.is_ascii_digit())
        .filter(|d| !d.is_empty())
        .map(|d| d.parse::<usize>().unwrap_or(usize::MAX))
        .try_fold(0usize, usize::checked_add);
    let conversions = fmt.matches('%').count();
    let per = widest.checked_mul(escaping(state)).and_then(|w| w.checked_add(400));
    within(
        per.and_then(|p| p.checked_mul(conversions))
            .and_then(|n| n.checked_add(numbers?))
            .and_then(|n| n.checked_add(fmt.len())),
    )
}

/// `join(sep)`: every item as text, and a separator between each two.
fn check_join(state: &State, args: &[Value]) -> Result<(), Error> {
    let sep = arg_text(args, 1)?.len();
    let Some(value) = args.first() else { return Ok(()) };
    let e = escaping(state);
    if let Some(s) = value.as_str() {
        return within(s.chars().count().checked_mul(sep).and_then(|n| n.checked_add(s.len() * e)));
    }
    let mut total = 0usize;
    for item in value.try_iter()? {
        total = total.saturating_add(display_len(&item, MAX_TEMPLATE_OUTPUT)? * e).saturating_add(sep);
        if total > MAX_TEMPLATE_OUTPUT + sep {
            return Err(too_long());
        }
    }
    Ok(())
}

/// `tojson(indent)`: the JSON text, measured by serialising it into a counter (with the escapes `tojson` adds).
fn check_tojson(_: &State, args: &[Value]) -> Result<(), Error> {
    let Some(value) = args.first() else { return Ok(()) };
    let indent = match arg(args, 1, "indent") {
        None => None,
        Some(v) if v.kind() == ValueKind::Bool => v.is_true().then_some(2),
        Some(v) => v.as_usize(),
    };
    let mut count = Count { n: 0, cap: MAX_TEMPLATE_OUTPUT };
    let measured = match indent {
        Some(n) if n > MAX_JSON_INDENT => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("tojson indent must be at most {MAX_JSON_INDENT}"),
            ))
        }
        Some(n) => {
            let pad = " ".repeat(n);
            let pretty = serde_json::ser::PrettyFormatter::with_indent(pad.as_bytes());
            serde::Serialize::serialize(value, &mut serde_json::Serializer::with_formatter(&mut count, pretty))
        }
        None => serde::Serialize::serialize(value, &mut serde_json::Serializer::new(&mut count)),
    };
    // A value that does not serialise is the builtin's own error to give; one that is too long is ours.
    if measured.is_err() && count.n > count.cap {
        return Err(too_long());
    }
    Ok(())
}

/// `pprint`: the pretty debug text.
fn check_pprint(_: &State, args: &[Value]) -> Result<(), Error> {
    let Some(value) = args.first() else { return Ok(()) };
    let mut c = Count { n: 0, cap: MAX_TEMPLATE_OUTPUT };
    write!(c, "{value:#?}").map_err(|_| too_long())
}

/// `batch(n)` pads its last batch to `n` items; `slice(n)` makes `n` slices.
fn check_count_arg(_: &State, args: &[Value]) -> Result<(), Error> {
    match arg(args, 1, "count").and_then(|n| n.as_usize()) {
        Some(n) if n > MAX_TEMPLATE_ITEMS => Err(too_many_items()),
        _ => Ok(()),
    }
}

/// `chain(…)`: a lazy sequence as long as all of its parts.
fn check_chain(_: &State, args: &[Value]) -> Result<(), Error> {
    let total = args.iter().filter(|a| !a.is_kwargs()).map(item_count).fold(0usize, usize::saturating_add);
    if total > MAX_TEMPLATE_ITEMS {
        return Err(too_many_items());
    }
    Ok(())
}

/// What the compiler's constant folding would build, bounded before it runs. It folds every expression whose
/// operands are all literals (`"x" * 99999999`, `[1] * 100000 * 100000`), with minijinja's own operators and
/// without a guard; this walks every expression of the template and works out, without building anything, how
/// long each folded text or list would be, with the limits of the runtime guards.
mod folding {
    use super::{display_len, text, too_long, too_many_items, MAX_TEMPLATE_ITEMS, MAX_TEMPLATE_OUTPUT};
    use minijinja::machinery::ast::{self, BinOpKind, CallArg, CompareOpKind, Expr, Stmt, UnaryOpKind};
    use minijinja::value::ValueKind;
    use minijinja::Error;

    /// A folded value as far as its size goes.
    #[derive(Clone, Copy)]
    enum Kind {
        Text,
        Seq,
        /// An integer, with its value when it can count repetitions.
        Number(Option<usize>),
        /// `a and b`, `a or b`: either operand.
        Either,
        Other,
    }

    #[derive(Clone, Copy)]
    struct Folded {
        kind: Kind,
        /// Bytes of a text, items of a sequence.
        len: usize,
        /// The most bytes its text form has.
        shown: usize,
    }

    fn small() -> Folded {
        Folded { kind: Kind::Other, len: 0, shown: 64 }
    }

    fn literal(v: &minijinja::Value) -> Folded {
        let shown = display_len(v, usize::MAX).unwrap_or(usize::MAX);
        match v.kind() {
            ValueKind::String => Folded { kind: Kind::Text, len: shown, shown },
            ValueKind::Seq | ValueKind::Map | ValueKind::Iterable => {
                Folded { kind: Kind::Seq, len: v.len().unwrap_or(0), shown }
            }
            ValueKind::Number => Folded { kind: Kind::Number(v.as_usize()), len: 0, shown },
            _ => Folded { kind: Kind::Other, len: 0, shown },
        }
    }

    /// A number the compiler computes from numbers: computing it builds nothing large.
    fn number(e: &Expr<'_>) -> Folded {
        e.as_const().map_or_else(small, |v| literal(&v))
    }

    fn texts(len: usize) -> Result<Folded, Error> {
        text(len)?;
        Ok(Folded { kind: Kind::Text, len, shown: len })
    }

    fn items(len: usize, shown: usize) -> Result<Folded, Error> {
        if len > MAX_TEMPLATE_ITEMS {
            return Err(too_many_items());
        }
        Ok(Folded { kind: Kind::Seq, len, shown })
    }

    fn can_be_text(k: Kind) -> bool {
        matches!(k, Kind::Text | Kind::Either)
    }

    fn can_be_seq(k: Kind) -> bool {
        matches!(k, Kind::Seq | Kind::Either)
    }

    fn bin_op(e: &Expr<'_>, op: BinOpKind, l: Folded, r: Folded) -> Result<Folded, Error> {
        Ok(match op {
            BinOpKind::Concat => texts(l.shown.saturating_add(r.shown))?,
            BinOpKind::Add => match (l.kind, r.kind) {
                (Kind::Number(_), Kind::Number(_)) => number(e),
                _ if can_be_text(l.kind) && can_be_text(r.kind) => texts(l.len.saturating_add(r.len))?,
                _ if can_be_seq(l.kind) && can_be_seq(r.kind) => {
                    items(l.len.saturating_add(r.len), l.shown.saturating_add(r.shown))?
                }
                _ => small(),
            },
            BinOpKind::Mul => {
                let (repeated, times) = match (l.kind, r.kind) {
                    (Kind::Number(_), Kind::Number(_)) => return Ok(number(e)),
                    (_, Kind::Number(n)) => (l, n),
                    (Kind::Number(n), _) => (r, n),
                    _ => return Ok(small()),
                };
                // A count that is not a small integer makes minijinja refuse (or multiply numbers).
                let Some(times) = times else { return Ok(small()) };
                let (len, shown) = (repeated.len.saturating_mul(times), repeated.shown.saturating_mul(times));
                match repeated.kind {
                    Kind::Text => texts(len)?,
                    Kind::Seq => items(len, shown)?,
                    Kind::Either => {
                        texts(len)?;
                        items(len, shown)?
                    }
                    _ => small(),
                }
            }
            BinOpKind::In => {
                contains(l, r)?;
                small()
            }
            BinOpKind::ScAnd | BinOpKind::ScOr => Folded {
                kind: if matches!((l.kind, r.kind), (Kind::Text, Kind::Text)) { Kind::Text } else { Kind::Either },
                len: l.len.max(r.len),
                shown: l.shown.max(r.shown),
            },
            BinOpKind::Sub | BinOpKind::Div | BinOpKind::FloorDiv | BinOpKind::Rem | BinOpKind::Pow => {
                match (l.kind, r.kind) {
                    (Kind::Number(_), Kind::Number(_)) => number(e),
                    _ => small(),
                }
            }
            BinOpKind::Eq | BinOpKind::Ne | BinOpKind::Lt | BinOpKind::Lte | BinOpKind::Gt | BinOpKind::Gte => small(),
        })
    }

    /// `value in text` formats the value to search for it.
    fn contains(value: Folded, container: Folded) -> Result<(), Error> {
        if can_be_text(container.kind) && value.shown > MAX_TEMPLATE_OUTPUT {
            return Err(too_long());
        }
        Ok(())
    }

    /// Checks every constant the compiler would fold inside `e`; returns what `e` folds to, if it is constant.
    fn expr(e: &Expr<'_>) -> Result<Option<Folded>, Error> {
        Ok(match e {
            Expr::Const(c) => Some(literal(&c.value)),
            // Lists and maps fold only when every item is a literal.
            Expr::List(l) => {
                for item in &l.items {
                    expr(item)?;
                }
                e.as_const().map(|v| literal(&v))
            }
            Expr::Map(m) => {
                for item in m.keys.iter().chain(&m.values) {
                    expr(item)?;
                }
                e.as_const().map(|v| literal(&v))
            }
            Expr::UnaryOp(u) => match (&u.op, expr(&u.expr)?) {
                (_, None) => None,
                (UnaryOpKind::Not, Some(_)) => Some(small()),
                (UnaryOpKind::Neg, Some(inner)) => match inner.kind {
                    Kind::Number(_) => Some(number(e)),
                    _ => Some(small()),
                },
            },
            Expr::BinOp(b) => match (expr(&b.left)?, expr(&b.right)?) {
                (Some(l), Some(r)) => Some(bin_op(e, b.op, l, r)?),
                _ => None,
            },
            Expr::Compare(c) => {
                let mut all = Some(());
                let mut left = expr(&c.expr)?;
                for op in &c.ops {
                    let right = expr(&op.expr)?;
                    if let (Some(l), Some(r), CompareOpKind::In | CompareOpKind::NotIn) = (left, right, op.op) {
                        contains(l, r)?;
                    }
                    all = all.and(right.map(drop));
                    left = right;
                }
                all.and(left).map(|_| small())
            }
            Expr::Var(_) => None,
            Expr::Slice(s) => {
                expr(&s.expr)?;
                for part in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    expr(part)?;
                }
                None
            }
            Expr::IfExpr(i) => {
                expr(&i.test_expr)?;
                expr(&i.true_expr)?;
                if let Some(f) = &i.false_expr {
                    expr(f)?;
                }
                None
            }
            Expr::Filter(f) => {
                if let Some(x) = &f.expr {
                    expr(x)?;
                }
                args(&f.args)?;
                None
            }
            Expr::Test(t) => {
                expr(&t.expr)?;
                args(&t.args)?;
                None
            }
            Expr::GetAttr(g) => {
                expr(&g.expr)?;
                None
            }
            Expr::GetItem(g) => {
                expr(&g.expr)?;
                expr(&g.subscript_expr)?;
                None
            }
            Expr::Call(c) => {
                call(c)?;
                None
            }
        })
    }

    fn args(args: &[CallArg<'_>]) -> Result<(), Error> {
        for a in args {
            match a {
                CallArg::Pos(e) | CallArg::Kwarg(_, e) | CallArg::PosSplat(e) | CallArg::KwargSplat(e) => {
                    expr(e)?;
                }
            }
        }
        Ok(())
    }

    fn call(c: &ast::Call<'_>) -> Result<(), Error> {
        expr(&c.expr)?;
        args(&c.args)
    }

    fn exprs<'a>(list: impl IntoIterator<Item = &'a Expr<'a>>) -> Result<(), Error> {
        list.into_iter().try_for_each(|e| expr(e).map(drop))
    }

    fn body(stmts: &[Stmt<'_>]) -> Result<(), Error> {
        stmts.iter().try_for_each(check_stmt)
    }

    fn macro_decl(m: &ast::Macro<'_>) -> Result<(), Error> {
        exprs(&m.args)?;
        exprs(&m.defaults)?;
        body(&m.body)
    }

    /// Every statement kind of minijinja 2.24 with the features this crate builds it with: a new kind (another
    /// version or feature) fails to compile here rather than going unchecked.
    pub(super) fn check_stmt(s: &Stmt<'_>) -> Result<(), Error> {
        match s {
            Stmt::Template(t) => body(&t.children),
            Stmt::EmitExpr(e) => expr(&e.expr).map(drop),
            Stmt::EmitRaw(_) => Ok(()),
            Stmt::ForLoop(f) => {
                exprs([&f.target, &f.iter])?;
                exprs(&f.filter_expr)?;
                body(&f.body)?;
                body(&f.else_body)
            }
            Stmt::IfCond(i) => {
                expr(&i.expr)?;
                body(&i.true_body)?;
                body(&i.false_body)
            }
            Stmt::WithBlock(w) => {
                for (target, value) in &w.assignments {
                    exprs([target, value])?;
                }
                body(&w.body)
            }
            Stmt::Set(s) => exprs([&s.target, &s.expr]),
            Stmt::SetBlock(s) => {
                expr(&s.target)?;
                exprs(&s.filter)?;
                body(&s.body)
            }
            Stmt::AutoEscape(a) => {
                expr(&a.enabled)?;
                body(&a.body)
            }
            Stmt::FilterBlock(f) => {
                expr(&f.filter)?;
                body(&f.body)
            }
            Stmt::Block(b) => body(&b.body),
            Stmt::Import(i) => exprs([&i.expr, &i.name]),
            Stmt::FromImport(i) => {
                expr(&i.expr)?;
                for (name, alias) in &i.names {
                    expr(name)?;
                    exprs(alias)?;
                }
                Ok(())
            }
            Stmt::Extends(e) => expr(&e.name).map(drop),
            Stmt::Include(i) => expr(&i.name).map(drop),
            Stmt::Macro(m) => macro_decl(m),
            Stmt::CallBlock(c) => {
                call(&c.call)?;
                macro_decl(&c.macro_decl)
            }
            Stmt::Do(d) => call(&d.call),
        }
    }
}
