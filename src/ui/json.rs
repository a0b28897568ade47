//! Bodies as the user wants to read them: JSON pretty-printed and coloured (keys, strings, numbers, literals),
//! anything else shown as sent. Tokenised here rather than with a JS highlighter.

use leptos::prelude::*;

/// The JSON a user typed, or why it is not JSON.
pub fn parse_json(text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(text).map_err(|e| format!("Not valid JSON: {e}"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    Key,
    Str,
    Num,
    Lit,
    Punct,
}

/// Splits pretty-printed JSON into coloured pieces; the pieces concatenate back to the input.
pub fn tokens(json: &str) -> Vec<(Tok, String)> {
    let mut out: Vec<(Tok, String)> = Vec::new();
    let chars: Vec<char> = json.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let kind = if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(chars.len());
            // A string followed by a colon is an object key.
            let rest = chars[i..].iter().find(|c| !c.is_whitespace());
            if rest == Some(&':') {
                Tok::Key
            } else {
                Tok::Str
            }
        } else if c == '-' || c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "+-.".contains(chars[i])) {
                i += 1;
            }
            Tok::Num
        } else if c.is_ascii_alphabetic() {
            while i < chars.len() && chars[i].is_ascii_alphabetic() {
                i += 1;
            }
            Tok::Lit
        } else {
            while i < chars.len() && !(chars[i] == '"' || chars[i] == '-' || chars[i].is_ascii_alphanumeric()) {
                i += 1;
            }
            Tok::Punct
        };
        out.push((kind, chars[start..i].iter().collect()));
    }
    out
}

fn class(t: Tok) -> &'static str {
    match t {
        Tok::Key => "text-indigo-700 dark:text-indigo-300",
        Tok::Str => "text-emerald-800 dark:text-emerald-300",
        Tok::Num => "text-amber-800 dark:text-amber-300",
        Tok::Lit => "text-rose-700 dark:text-rose-300",
        Tok::Punct => "",
    }
}

/// A body: highlighted when it parses as JSON, verbatim otherwise.
#[component]
pub fn Body(
    #[prop(into)] text: String,
    #[prop(optional)] truncated: bool,
    /// Names the block and makes it focusable, so keyboard users can scroll a long one (several per page).
    #[prop(optional, into)]
    label: Option<String>,
) -> impl IntoView {
    let pretty =
        serde_json::from_str::<serde_json::Value>(&text).ok().and_then(|v| serde_json::to_string_pretty(&v).ok());
    let focusable = label.is_some();
    view! {
        <pre class="max-h-80 overflow-auto whitespace-pre-wrap break-all rounded-md bg-slate-100 p-3 font-mono text-xs dark:bg-slate-800 focus-visible:outline focus-visible:outline-2 focus-visible:outline-indigo-500" data-testid="body"
            role=focusable.then_some("region") aria-label=label tabindex=focusable.then_some("0")>
            {match pretty {
                Some(p) => tokens(&p).into_iter().map(|(t, s)| view! { <span class=class(t)>{s}</span> }).collect_view().into_any(),
                None if text.is_empty() => view! { <span class="italic text-slate-500 dark:text-slate-400">"(empty)"</span> }.into_any(),
                None => text.into_any(),
            }}
        </pre>
        {truncated.then(|| view! { <p class="mt-1 text-xs text-amber-800 dark:text-amber-300">"Truncated at 64 KB."</p> })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_cover_the_text_and_tell_keys_from_values() {
        let pretty =
            serde_json::to_string_pretty(&serde_json::json!({"a": "x\"y", "n": -1.5e3, "ok": true, "z": null}))
                .unwrap();
        let toks = tokens(&pretty);
        assert_eq!(toks.iter().map(|(_, s)| s.as_str()).collect::<String>(), pretty);
        let kinds: Vec<_> = toks.iter().filter(|(t, _)| *t != Tok::Punct).map(|(t, s)| (*t, s.as_str())).collect();
        assert_eq!(
            kinds,
            vec![
                (Tok::Key, "\"a\""),
                (Tok::Str, "\"x\\\"y\""),
                (Tok::Key, "\"n\""),
                (Tok::Num, "-1500.0"),
                (Tok::Key, "\"ok\""),
                (Tok::Lit, "true"),
                (Tok::Key, "\"z\""),
                (Tok::Lit, "null"),
            ]
        );
    }
}
