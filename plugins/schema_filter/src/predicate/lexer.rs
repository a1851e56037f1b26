//! Splits a predicate into tokens, each with its character position.

use super::PredicateError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    /// A bare word: a keyword or a column name.
    Word(String),
    /// A `backquoted` column name.
    Quoted(String),
    /// A quoted string literal.
    Str(String),
    /// A number literal.
    Num(f64),
    /// An operator or punctuation.
    Op(&'static str),
}

/// The tokens of `text`, each with the character position it starts at.
pub(super) fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, PredicateError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let err = |position, message: String| Err(PredicateError { position, message });
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let token = if c == '\'' || c == '"' || c == '`' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        let what = if c == '`' { "column name" } else { "string" };
                        return err(start, format!("unterminated {what} starting with {c}"));
                    }
                    Some(&q) if q == c => {
                        if chars.get(i + 1) == Some(&c) {
                            s.push(c);
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    }
                    Some(&other) => {
                        s.push(other);
                        i += 1;
                    }
                }
            }
            if c == '`' {
                Token::Quoted(s)
            } else {
                Token::Str(s)
            }
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
            || (c == '-'
                && chars
                    .get(i + 1)
                    .is_some_and(|d| d.is_ascii_digit() || *d == '.'))
        {
            i += 1;
            while i < chars.len() {
                let d = chars[i];
                let exponent_sign = (d == '+' || d == '-') && matches!(chars[i - 1], 'e' | 'E');
                if d.is_ascii_digit() || d == '.' || d == 'e' || d == 'E' || exponent_sign {
                    i += 1;
                } else {
                    break;
                }
            }
            let s: String = chars[start..i].iter().collect();
            match s.parse::<f64>() {
                Ok(n) if n.is_finite() => Token::Num(n),
                _ => return err(start, format!("invalid number {s:?}")),
            }
        } else if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            Token::Word(chars[start..i].iter().collect())
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op = match two.as_str() {
                "<=" => "<=",
                ">=" => ">=",
                "!=" => "!=",
                "<>" => "<>",
                "==" => "=",
                _ => match c {
                    '=' => "=",
                    '<' => "<",
                    '>' => ">",
                    '(' => "(",
                    ')' => ")",
                    ',' => ",",
                    _ => return err(start, format!("unexpected character {c:?}")),
                },
            };
            i += if two.as_str() == op || two == "==" {
                2
            } else {
                1
            };
            Token::Op(op)
        };
        tokens.push((start, token));
    }
    Ok(tokens)
}
