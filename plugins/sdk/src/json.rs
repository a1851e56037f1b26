//! A JSON reader with Spark's reader options, for parsing a record once into
//! the fields a schema names, without building a value tree.
//!
//! Spark reads JSON with Jackson, configured by `JSONOptions`; the defaults
//! (and this reader's) are: single-quoted strings and names allowed, the
//! non-numeric numbers `NaN`, `Infinity`, `+Infinity`, `-Infinity`, `+INF`,
//! `-INF` allowed; unquoted field names, comments, leading zeros, a
//! backslash before any character and unescaped control characters refused.
//! Like Jackson, only the first JSON value of the text is read; what follows
//! it is ignored.

use std::borrow::Cow;
use std::fmt;

/// Spark's JSON reader options (`JSONOptions`), with Spark's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonOptions {
    /// `'text'` as a string or a field name.
    pub allow_single_quotes: bool,
    /// `NaN`, `Infinity`, `-Infinity`, `+INF`, … as numbers.
    pub allow_non_numeric_numbers: bool,
    /// `{ticker: "A"}`.
    pub allow_unquoted_field_names: bool,
    /// `/* … */`, `// …` and `# …` comments.
    pub allow_comments: bool,
    /// `007`.
    pub allow_numeric_leading_zeros: bool,
    /// `"\q"` as `q`.
    pub allow_backslash_escaping_any_character: bool,
    /// A raw tab or newline inside a string.
    pub allow_unquoted_control_chars: bool,
}

impl Default for JsonOptions {
    fn default() -> Self {
        JsonOptions {
            allow_single_quotes: true,
            allow_non_numeric_numbers: true,
            allow_unquoted_field_names: false,
            allow_comments: false,
            allow_numeric_leading_zeros: false,
            allow_backslash_escaping_any_character: false,
            allow_unquoted_control_chars: false,
        }
    }
}

/// A JSON syntax error: what was wrong and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// What the reader expected or found.
    pub message: &'static str,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in bytes).
    pub column: usize,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.message, self.line, self.column
        )
    }
}

/// One JSON value read for a field.
#[derive(Debug, Clone, PartialEq)]
pub enum Token<'a> {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A string, unescaped.
    Str(Cow<'a, str>),
    /// A number as written (`-1`, `2.50`, `1e3`); `float` when it has a
    /// fraction or an exponent.
    Number {
        /// The number's text.
        text: &'a str,
        /// Whether it has a fraction or exponent.
        float: bool,
    },
    /// `NaN`, `Infinity`, `-INF`, …
    NonNumeric(f64),
    /// An object or array, as its raw text.
    Compound(&'a str),
}

/// What the top level of a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Top {
    /// An object: its fields were handed to the callback.
    Object,
    /// The literal `null`.
    Null,
    /// Something else (named: "an array", "a string", …).
    Other(&'static str),
}

struct Reader<'a> {
    /// The document, checked to be UTF-8 once (so every slice between two
    /// ASCII delimiters is text, with no further check).
    doc: &'a str,
    text: &'a [u8],
    pos: usize,
    options: JsonOptions,
}

type Result<T> = std::result::Result<T, SyntaxError>;

impl<'a> Reader<'a> {
    fn error<T>(&self, message: &'static str) -> Result<T> {
        let before = &self.text[..self.pos.min(self.text.len())];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let column = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
        Err(SyntaxError {
            message,
            line,
            column,
        })
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    #[inline(always)]
    fn skip_ws(&mut self) -> Result<()> {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.text.get(self.pos) {
            self.pos += 1;
        }
        if self.options.allow_comments {
            return self.skip_ws_and_comments();
        }
        Ok(())
    }

    #[cold]
    fn skip_ws_and_comments(&mut self) -> Result<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.pos += 1,
                Some(b'/' | b'#') => self.skip_comment()?,
                _ => return Ok(()),
            }
        }
    }

    fn skip_comment(&mut self) -> Result<()> {
        let rest = &self.text[self.pos..];
        if rest.starts_with(b"/*") {
            match rest[2..].windows(2).position(|w| w == b"*/") {
                Some(end) => self.pos += end + 4,
                None => return self.error("unterminated comment"),
            }
        } else if rest.starts_with(b"//") || rest.starts_with(b"#") {
            self.pos += rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
        } else {
            return self.error("expected value");
        }
        Ok(())
    }

    fn expect_word(&mut self, word: &[u8]) -> Result<()> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            self.error("expected value")
        }
    }

    /// A string whose opening quote is at `pos`.
    fn string(&mut self) -> Result<Cow<'a, str>> {
        let quote = self.text[self.pos];
        self.pos += 1;
        let start = self.pos;
        let strict = !self.options.allow_unquoted_control_chars;
        // The common case: no escape, so the string borrows the input.
        let stop = find_special(&self.text[start..], quote, strict);
        let Some(stop) = stop else {
            self.pos = self.text.len();
            return self.error("unterminated string");
        };
        self.pos = start + stop;
        match self.text[self.pos] {
            b if b == quote => {
                self.pos += 1;
                return Ok(Cow::Borrowed(&self.doc[start..self.pos - 1]));
            }
            b'\\' => {}
            _ => return self.error("control character in a string (escape it)"),
        }
        let mut out = String::from(&self.doc[start..self.pos]);
        let mut chunk = self.pos;
        loop {
            let Some(&b) = self.text.get(self.pos) else {
                return self.error("unterminated string");
            };
            if b == quote {
                out.push_str(&self.doc[chunk..self.pos]);
                self.pos += 1;
                return Ok(Cow::Owned(out));
            }
            if b < 0x20 && strict {
                return self.error("control character in a string (escape it)");
            }
            if b != b'\\' {
                self.pos += 1;
                continue;
            }
            out.push_str(&self.doc[chunk..self.pos]);
            self.pos += 1;
            let Some(&e) = self.text.get(self.pos) else {
                return self.error("unterminated string");
            };
            self.pos += 1;
            match e {
                b'"' | b'\\' | b'/' => out.push(char::from(e)),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => out.push(self.unicode_escape()?),
                b'\'' if self.options.allow_single_quotes => out.push('\''),
                _ if self.options.allow_backslash_escaping_any_character => {
                    // The escaped character, however many bytes it has.
                    let width = self.doc[self.pos - 1..]
                        .chars()
                        .next()
                        .map_or(1, char::len_utf8);
                    out.push_str(&self.doc[self.pos - 1..self.pos - 1 + width]);
                    self.pos += width - 1;
                }
                _ => {
                    self.pos -= 1;
                    return self.error("invalid escape");
                }
            }
            chunk = self.pos;
        }
    }

    fn hex4(&mut self) -> Result<u32> {
        let digits = self.text.get(self.pos..self.pos + 4);
        let value = digits
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok());
        match value {
            Some(v) => {
                self.pos += 4;
                Ok(v)
            }
            None => self.error("invalid \\u escape"),
        }
    }

    fn unicode_escape(&mut self) -> Result<char> {
        let first = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&first) {
            if !self.text[self.pos..].starts_with(b"\\u") {
                return Ok('\u{FFFD}');
            }
            self.pos += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return self.error("invalid surrogate pair");
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        Ok(char::from_u32(code).unwrap_or('\u{FFFD}'))
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn non_numeric(&mut self, sign: f64) -> Result<Token<'a>> {
        if !self.options.allow_non_numeric_numbers {
            return self.error("non-numeric number (NaN, Infinity) not allowed");
        }
        let rest = &self.text[self.pos..];
        if rest.starts_with(b"Infinity") {
            self.pos += 8;
        } else if sign != 0.0 && rest.starts_with(b"INF") {
            self.pos += 3;
        } else if sign == 0.0 && rest.starts_with(b"NaN") {
            self.pos += 3;
            return Ok(Token::NonNumeric(f64::NAN));
        } else {
            return self.error("expected value");
        }
        Ok(Token::NonNumeric(if sign < 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }))
    }

    fn number(&mut self) -> Result<Token<'a>> {
        let start = self.pos;
        let sign = match self.peek() {
            Some(b'-') => -1.0,
            Some(b'+') => 1.0,
            _ => 0.0,
        };
        if sign != 0.0 {
            self.pos += 1;
            if matches!(self.peek(), Some(b'I')) {
                return self.non_numeric(sign);
            }
            if sign > 0.0 {
                return self.error("expected value (a leading + is not allowed)");
            }
        }
        let int_start = self.pos;
        let int_digits = self.digits();
        if int_digits == 0 {
            return self.error("expected a digit");
        }
        if int_digits > 1
            && self.text[int_start] == b'0'
            && !self.options.allow_numeric_leading_zeros
        {
            self.pos = int_start;
            return self.error("leading zeros are not allowed");
        }
        let mut float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            float = true;
            if self.digits() == 0 {
                return self.error("expected a digit after the decimal point");
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            float = true;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return self.error("expected a digit in the exponent");
            }
        }
        Ok(Token::Number {
            text: &self.doc[start..self.pos],
            float,
        })
    }

    fn name(&mut self) -> Result<Cow<'a, str>> {
        match self.peek() {
            Some(b'"') => self.string(),
            Some(b'\'') if self.options.allow_single_quotes => self.string(),
            Some(b) if self.options.allow_unquoted_field_names && is_name_byte(b) => {
                let start = self.pos;
                while self.peek().is_some_and(is_name_byte) {
                    self.pos += 1;
                }
                Ok(Cow::Borrowed(&self.doc[start..self.pos]))
            }
            _ => self.error("expected a field name in double quotes"),
        }
    }

    /// Reads a value at `pos`; objects and arrays are skipped and returned raw.
    fn value(&mut self) -> Result<Token<'a>> {
        match self.peek() {
            Some(b'"') => self.string().map(Token::Str),
            Some(b'\'') if self.options.allow_single_quotes => self.string().map(Token::Str),
            Some(b'{' | b'[') => {
                let start = self.pos;
                self.skip_compound()?;
                Ok(Token::Compound(&self.doc[start..self.pos]))
            }
            Some(b't') => self.expect_word(b"true").map(|()| Token::Bool(true)),
            Some(b'f') => self.expect_word(b"false").map(|()| Token::Bool(false)),
            Some(b'n') => self.expect_word(b"null").map(|()| Token::Null),
            Some(b'N' | b'I') => self.non_numeric(0.0),
            Some(b'-' | b'+' | b'0'..=b'9') => self.number(),
            Some(_) => self.error("expected value"),
            None => self.error("EOF while parsing a value"),
        }
    }

    fn skip_compound(&mut self) -> Result<()> {
        let object = self.text[self.pos] == b'{';
        let close = if object { b'}' } else { b']' };
        self.pos += 1;
        self.skip_ws()?;
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(());
        }
        loop {
            if object {
                self.name()?;
                self.skip_ws()?;
                if self.peek() != Some(b':') {
                    return self.error("expected ':'");
                }
                self.pos += 1;
                self.skip_ws()?;
            }
            self.value()?;
            self.skip_ws()?;
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws()?;
                }
                Some(b) if b == close => {
                    self.pos += 1;
                    return Ok(());
                }
                None => return self.error("EOF while parsing"),
                Some(_) => {
                    return self.error(if object {
                        "expected ',' or '}'"
                    } else {
                        "expected ',' or ']'"
                    });
                }
            }
        }
    }
}

/// The first byte of `bytes` that ends the plain part of a string: the
/// closing `quote`, a backslash, or (when `controls`) a control character.
/// Eight bytes at a time (SWAR): the plain part is most of every string.
pub(crate) fn find_special(bytes: &[u8], quote: u8, controls: bool) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // High bit set in the lowest byte that is zero (higher ones may be false hits).
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let w = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let mut hits = zero(w ^ (ONES * u64::from(quote))) | zero(w ^ (ONES * u64::from(b'\\')));
        if controls {
            hits |= w.wrapping_sub(ONES * 0x20) & !w & HIGH;
        }
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == quote || b == b'\\' || (controls && b < 0x20))
        .map(|i| at + i)
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// Reads the first JSON value of `text`. When it is an object, calls
/// `field(name, value)` for each field whose name `wanted` accepts (the
/// others are only checked for syntax), in order; a repeated name is
/// handed over each time (so the last one wins where the caller stores it).
pub fn read_object<'a>(
    text: &'a [u8],
    options: JsonOptions,
    mut wanted: impl FnMut(&str) -> Option<usize>,
    mut field: impl FnMut(usize, Token<'a>),
) -> std::result::Result<Top, SyntaxError> {
    let doc = match std::str::from_utf8(text) {
        Ok(doc) => doc,
        Err(e) => {
            let r = Reader {
                doc: "",
                text,
                pos: e.valid_up_to(),
                options,
            };
            return r.error("invalid UTF-8");
        }
    };
    let mut r = Reader {
        doc,
        text,
        pos: 0,
        options,
    };
    r.skip_ws()?;
    match r.peek() {
        Some(b'{') => {}
        Some(b'[') => {
            r.skip_compound()?;
            return Ok(Top::Other("an array"));
        }
        None => return r.error("EOF while parsing a value"),
        Some(_) => {
            return Ok(match r.value()? {
                Token::Null => Top::Null,
                Token::Str(_) => Top::Other("a string"),
                Token::Bool(_) => Top::Other("a boolean"),
                _ => Top::Other("a number"),
            });
        }
    }
    r.pos += 1;
    r.skip_ws()?;
    if r.peek() == Some(b'}') {
        return Ok(Top::Object);
    }
    loop {
        let name = r.name()?;
        r.skip_ws()?;
        if r.peek() != Some(b':') {
            return r.error("expected ':'");
        }
        r.pos += 1;
        r.skip_ws()?;
        match wanted(&name) {
            Some(i) => field(i, r.value()?),
            None => {
                r.value()?;
            }
        }
        r.skip_ws()?;
        match r.peek() {
            Some(b',') => {
                r.pos += 1;
                r.skip_ws()?;
            }
            Some(b'}') => return Ok(Top::Object),
            None => return r.error("EOF while parsing an object"),
            Some(_) => return r.error("expected ',' or '}'"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str, options: JsonOptions) -> std::result::Result<Vec<Token<'_>>, String> {
        let mut out = Vec::new();
        read_object(text.as_bytes(), options, |_| Some(0), |_, t| out.push(t))
            .map_err(|e| e.to_string())?;
        Ok(out)
    }

    #[test]
    fn reads_sparks_default_dialect() {
        let d = JsonOptions::default();
        let got = fields("{'a': 'x', \"b\": NaN, \"c\": -INF, \"d\": +Infinity}", d).unwrap();
        assert_eq!(
            format!("{got:?}"),
            r#"[Str("x"), NonNumeric(NaN), NonNumeric(-inf), NonNumeric(inf)]"#
        );
        for bad in [
            "{a: 1}",
            "{\"a\": 01}",
            "{\"a\": 1 /* c */}",
            "{\"a\": \"\\q\"}",
            "{\"a\": \"tab\there\"}",
            "{\"a\": +1}",
            "{\"a\": 1.}",
        ] {
            assert!(fields(bad, d).is_err(), "{bad}");
        }
        let lax = JsonOptions {
            allow_unquoted_field_names: true,
            allow_comments: true,
            allow_numeric_leading_zeros: true,
            allow_backslash_escaping_any_character: true,
            allow_unquoted_control_chars: true,
            ..d
        };
        for ok in [
            "{a: 1}",
            "{\"a\": 01}",
            "{\"a\": 1 /* c */}",
            "{\"a\": \"\\q\"}",
            "{\"a\": \"tab\there\"}",
        ] {
            assert!(fields(ok, lax).is_ok(), "{ok}");
        }
        let strict = JsonOptions {
            allow_single_quotes: false,
            allow_non_numeric_numbers: false,
            ..d
        };
        assert!(fields("{'a': 1}", strict).is_err());
        assert!(fields("{\"a\": NaN}", strict).is_err());
    }

    #[test]
    fn finds_the_end_of_a_plain_string_eight_bytes_at_a_time() {
        for text in [
            "",
            "\"",
            "abcdefg\"",
            "abcdefgh\"",
            "abcdefghijklmnop\\q\"",
            "abc\tdef\"",
            "é日本語テキスト\"x",
            "no end at all here",
        ] {
            let bytes = text.as_bytes();
            let plain = bytes
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            assert_eq!(find_special(bytes, b'"', true), plain, "{text:?}");
            let lax = bytes.iter().position(|&b| b == b'"' || b == b'\\');
            assert_eq!(find_special(bytes, b'"', false), lax, "{text:?}");
        }
    }

    #[test]
    fn escapes_numbers_and_positions() {
        let d = JsonOptions::default();
        assert_eq!(
            fields(
                r#"{"a": "x\"\u00e9\ud83d\ude00", "b": -1.5e3, "c": [1, {"d": 2}]}"#,
                d
            )
            .unwrap(),
            [
                Token::Str("x\"é😀".into()),
                Token::Number {
                    text: "-1.5e3",
                    float: true
                },
                Token::Compound(r#"[1, {"d": 2}]"#),
            ]
        );
        let err = read_object(b"{\"a\":\n  x}", d, |_| Some(0), |_, _| {}).unwrap_err();
        assert_eq!((err.line, err.column), (2, 3));
        assert_eq!(
            read_object(b"[1]", d, |_| None, |_, _| {}),
            Ok(Top::Other("an array"))
        );
        assert_eq!(
            read_object(b" null trailing", d, |_| None, |_, _| {}),
            Ok(Top::Null)
        );
    }
}
