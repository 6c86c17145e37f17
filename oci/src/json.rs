//! A small JSON reader for config.json: the document is checked once ([`parse`]), then read
//! lazily — a [`Value`] is the slice of the source that holds one value, and looking up a
//! member or walking an array scans that slice. Nothing is copied except decoded strings
//! (into the caller's arena, with a terminating NUL). Numbers are integers, as every number
//! in an OCI config is.
//!
//! Pure logic, unit-tested on malformed input.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    /// Byte offset of the problem in the document.
    pub at: usize,
    pub what: &'static str,
}

/// One JSON value: exactly its bytes in the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Value<'a> {
    pub src: &'a [u8],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

/// Checks the whole document; its top-level value.
pub fn parse(doc: &[u8]) -> Result<Value<'_>, Error> {
    let start = skip_ws(doc, 0);
    let end = skip_value(doc, start, 0)?;
    if skip_ws(doc, end) != doc.len() {
        return Err(Error { at: skip_ws(doc, end), what: "text after the JSON value" });
    }
    Ok(Value { src: &doc[start..end] })
}

/// 1-based line of byte `at` in `doc`, for messages.
pub fn line_of(doc: &[u8], at: usize) -> usize {
    doc[..at.min(doc.len())].iter().filter(|&&c| c == b'\n').count() + 1
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

const MAX_DEPTH: usize = 64;

/// The index just past the value starting at `i` (no whitespace before it).
fn skip_value(s: &[u8], i: usize, depth: usize) -> Result<usize, Error> {
    let err = |at, what| Err(Error { at, what });
    if depth > MAX_DEPTH {
        return err(i, "nested too deeply");
    }
    match s.get(i) {
        None => err(i, "a value is missing"),
        Some(b'{') => {
            let mut j = skip_ws(s, i + 1);
            if s.get(j) == Some(&b'}') {
                return Ok(j + 1);
            }
            loop {
                if s.get(j) != Some(&b'"') {
                    return err(j, "expected a member name in quotes");
                }
                j = skip_ws(s, skip_string(s, j)?);
                if s.get(j) != Some(&b':') {
                    return err(j, "expected ':' after a member name");
                }
                j = skip_ws(s, j + 1);
                j = skip_ws(s, skip_value(s, j, depth + 1)?);
                match s.get(j) {
                    Some(b',') => j = skip_ws(s, j + 1),
                    Some(b'}') => return Ok(j + 1),
                    _ => return err(j, "expected ',' or '}' in an object"),
                }
            }
        }
        Some(b'[') => {
            let mut j = skip_ws(s, i + 1);
            if s.get(j) == Some(&b']') {
                return Ok(j + 1);
            }
            loop {
                j = skip_ws(s, skip_value(s, j, depth + 1)?);
                match s.get(j) {
                    Some(b',') => j = skip_ws(s, j + 1),
                    Some(b']') => return Ok(j + 1),
                    _ => return err(j, "expected ',' or ']' in an array"),
                }
            }
        }
        Some(b'"') => skip_string(s, i),
        Some(b't') if s[i..].starts_with(b"true") => Ok(i + 4),
        Some(b'f') if s[i..].starts_with(b"false") => Ok(i + 5),
        Some(b'n') if s[i..].starts_with(b"null") => Ok(i + 4),
        Some(b'-' | b'0'..=b'9') => {
            let mut j = i + (s[i] == b'-') as usize;
            let digits = j;
            while j < s.len() && s[j].is_ascii_digit() {
                j += 1;
            }
            if j == digits {
                return err(i, "a number without digits");
            }
            // Fractions and exponents are valid JSON; reading them is refused later.
            while j < s.len() && matches!(s[j], b'.' | b'e' | b'E' | b'+' | b'-' | b'0'..=b'9') {
                j += 1;
            }
            Ok(j)
        }
        Some(_) => err(i, "not a JSON value"),
    }
}

fn skip_string(s: &[u8], i: usize) -> Result<usize, Error> {
    let mut j = i + 1;
    while j < s.len() {
        match s[j] {
            b'"' => return Ok(j + 1),
            b'\\' => {
                match s.get(j + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => j += 2,
                    Some(b'u') if s.len() >= j + 6 && s[j + 2..j + 6].iter().all(u8::is_ascii_hexdigit) => j += 6,
                    _ => return Err(Error { at: j, what: "a bad escape in a string" }),
                }
            }
            0..=0x1f => return Err(Error { at: j, what: "a control character in a string" }),
            _ => j += 1,
        }
    }
    Err(Error { at: i, what: "a string that never ends" })
}

impl<'a> Value<'a> {
    pub fn kind(&self) -> Kind {
        match self.src[0] {
            b'{' => Kind::Object,
            b'[' => Kind::Array,
            b'"' => Kind::String,
            b't' | b'f' => Kind::Bool,
            b'n' => Kind::Null,
            _ => Kind::Number,
        }
    }

    /// The members of an object, in order: (raw name without quotes, value). Empty for
    /// anything that is not an object.
    pub fn members(&self) -> impl Iterator<Item = (&'a [u8], Value<'a>)> + use<'a> {
        let s = self.src;
        let mut j = if self.kind() == Kind::Object { skip_ws(s, 1) } else { s.len() };
        core::iter::from_fn(move || {
            if j >= s.len() || s[j] != b'"' {
                return None;
            }
            let name_end = skip_string(s, j).ok()?;
            let name = &s[j + 1..name_end - 1];
            let v = skip_ws(s, skip_ws(s, name_end) + 1);
            let v_end = skip_value(s, v, 0).ok()?;
            j = skip_ws(s, v_end);
            if s.get(j) == Some(&b',') {
                j = skip_ws(s, j + 1);
            }
            Some((name, Value { src: &s[v..v_end] }))
        })
    }

    /// The member `name` of an object (names with escapes are not matched).
    pub fn get(&self, name: &str) -> Option<Value<'a>> {
        self.members().find(|(n, _)| *n == name.as_bytes()).map(|(_, v)| v)
    }

    /// The elements of an array; empty for anything that is not an array.
    pub fn items(&self) -> impl Iterator<Item = Value<'a>> + use<'a> {
        let s = self.src;
        let mut j = if self.kind() == Kind::Array { skip_ws(s, 1) } else { s.len() };
        core::iter::from_fn(move || {
            if j >= s.len() || s[j] == b']' {
                return None;
            }
            let end = skip_value(s, j, 0).ok()?;
            let v = Value { src: &s[j..end] };
            j = skip_ws(s, end);
            if s.get(j) == Some(&b',') {
                j = skip_ws(s, j + 1);
            }
            Some(v)
        })
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.src {
            b"true" => Some(true),
            b"false" => Some(false),
            _ => None,
        }
    }

    /// An integer that fits an i64 (no fraction, no exponent).
    pub fn as_i64(&self) -> Option<i64> {
        let (neg, digits) = match self.src.split_first()? {
            (b'-', rest) => (true, rest),
            _ => (false, self.src),
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut n: i64 = 0;
        for &d in digits {
            n = n.checked_mul(10)?.checked_add((d - b'0') as i64)?;
        }
        Some(if neg { -n } else { n })
    }

    pub fn as_u64(&self) -> Option<u64> {
        if self.src.first() == Some(&b'-') {
            return None;
        }
        let mut n: u64 = 0;
        for &d in self.src {
            if !d.is_ascii_digit() {
                return None;
            }
            n = n.checked_mul(10)?.checked_add((d - b'0') as u64)?;
        }
        Some(n)
    }

    /// A string's raw bytes between the quotes (escapes not decoded).
    pub fn raw_str(&self) -> Option<&'a [u8]> {
        (self.kind() == Kind::String).then(|| &self.src[1..self.src.len() - 1])
    }

    /// Decodes a string into `out`: escapes resolved, UTF-8 for `\uXXXX` (surrogate pairs
    /// joined); returns the length, or None if it is not a string, holds a NUL, or does
    /// not fit.
    pub fn decode_str(&self, out: &mut [u8]) -> Option<usize> {
        let raw = self.raw_str()?;
        let mut n = 0;
        let mut put = |b: u8, n: &mut usize| -> Option<()> {
            *out.get_mut(*n)? = b;
            *n += 1;
            Some(())
        };
        let mut i = 0;
        while i < raw.len() {
            let c = raw[i];
            if c != b'\\' {
                put(c, &mut n)?;
                i += 1;
                continue;
            }
            let e = raw[i + 1];
            i += 2;
            let simple = match e {
                b'"' => Some(b'"'),
                b'\\' => Some(b'\\'),
                b'/' => Some(b'/'),
                b'b' => Some(8),
                b'f' => Some(12),
                b'n' => Some(b'\n'),
                b'r' => Some(b'\r'),
                b't' => Some(b'\t'),
                _ => None,
            };
            if let Some(b) = simple {
                put(b, &mut n)?;
                continue;
            }
            let hex = |at: usize| -> Option<u32> { u32::from_str_radix(core::str::from_utf8(raw.get(at..at + 4)?).ok()?, 16).ok() };
            let mut cp = hex(i)?;
            i += 4;
            if (0xd800..0xdc00).contains(&cp) && raw.get(i..i + 2) == Some(b"\\u") {
                let low = hex(i + 2)?;
                if (0xdc00..0xe000).contains(&low) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                    i += 6;
                }
            }
            let ch = char::from_u32(cp)?;
            if ch == '\0' {
                return None;
            }
            let mut utf8 = [0u8; 4];
            for &b in ch.encode_utf8(&mut utf8).as_bytes() {
                put(b, &mut n)?;
            }
        }
        (!out[..n].contains(&0)).then_some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(doc: &str) -> &'static str {
        parse(doc.as_bytes()).unwrap_err().what
    }

    #[test]
    fn a_config_is_read_lazily() {
        let doc = br#" {"ociVersion": "1.2.0", "process": {"args": ["sh", "-c", "echo \"hi\""], "terminal": false,
            "user": {"uid": 0, "gid": -1}}, "hostname": "box", "empty": {}, "list": []} "#;
        let v = parse(doc).unwrap();
        assert_eq!(v.kind(), Kind::Object);
        assert_eq!(v.get("hostname").unwrap().raw_str(), Some(&b"box"[..]));
        let process = v.get("process").unwrap();
        let args: Vec<_> = process.get("args").unwrap().items().map(|a| a.raw_str().unwrap()).collect();
        assert_eq!(args, [&b"sh"[..], b"-c", br#"echo \"hi\""#]);
        let mut buf = [0u8; 64];
        let n = process.get("args").unwrap().items().nth(2).unwrap().decode_str(&mut buf).unwrap();
        assert_eq!(&buf[..n], br#"echo "hi""#);
        assert_eq!(process.get("terminal").unwrap().as_bool(), Some(false));
        assert_eq!(process.get("user").unwrap().get("gid").unwrap().as_i64(), Some(-1));
        assert_eq!(process.get("user").unwrap().get("uid").unwrap().as_u64(), Some(0));
        assert_eq!(v.get("empty").unwrap().members().count(), 0);
        assert_eq!(v.get("list").unwrap().items().count(), 0);
        assert_eq!(v.get("missing"), None);
        assert_eq!(v.members().count(), 5);
    }

    #[test]
    fn escapes_decode_to_utf8() {
        let v = parse(br#""a\u00e9\ud83d\ude00\n\/""#).unwrap();
        let mut buf = [0u8; 32];
        let n = v.decode_str(&mut buf).unwrap();
        assert_eq!(core::str::from_utf8(&buf[..n]).unwrap(), "a\u{e9}\u{1f600}\n/");
        assert_eq!(parse(br#""nul\u0000""#).unwrap().decode_str(&mut buf), None, "NUL cannot be in a C string");
        assert_eq!(parse(br#""toolong""#).unwrap().decode_str(&mut buf[..3]), None);
    }

    #[test]
    fn malformed_documents_are_refused_with_a_reason() {
        assert_eq!(err(""), "a value is missing");
        assert_eq!(err("{"), "expected a member name in quotes");
        assert_eq!(err(r#"{"a" 1}"#), "expected ':' after a member name");
        assert_eq!(err(r#"{"a": 1,}"#), "expected a member name in quotes");
        assert_eq!(err(r#"[1 2]"#), "expected ',' or ']' in an array");
        assert_eq!(err(r#"{"a": tru}"#), "not a JSON value");
        assert_eq!(err(r#""abc"#), "a string that never ends");
        assert_eq!(err(r#""a\qb""#), "a bad escape in a string");
        assert_eq!(err("\"a\u{1}\""), "a control character in a string");
        assert_eq!(err("{} {}"), "text after the JSON value");
        assert_eq!(err("-"), "a number without digits");
        assert_eq!(err(&"[".repeat(100)), "nested too deeply");
        assert_eq!(line_of(b"{\n\n x", 4), 3);
    }

    #[test]
    fn numbers_that_do_not_fit_are_not_read() {
        assert_eq!(parse(b"18446744073709551615").unwrap().as_u64(), Some(u64::MAX));
        assert_eq!(parse(b"18446744073709551616").unwrap().as_u64(), None);
        assert_eq!(parse(b"1.5").unwrap().as_i64(), None);
        assert_eq!(parse(b"-9223372036854775808").unwrap().as_i64(), None, "one beyond, negated after the fact");
        assert_eq!(parse(b"1e3").unwrap().as_u64(), None);
    }
}
