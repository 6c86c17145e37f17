//! A small JSON reader for config.json: the document is checked once ([`parse`]), then read
//! lazily — a [`Value`] is the slice of the source that holds one value, and looking up a
//! member or walking an array scans that slice. Nothing is copied except decoded strings
//! (into the caller's buffer).
//!
//! It reads what Go's `encoding/json` (runc's reader) reads, or refuses:
//!
//! - The grammar is RFC 8259's exactly: no leading zeros (`01`), a digit after `.` and in an
//!   exponent (`1.`, `1e`), no BOM, nothing after the value, no control characters in
//!   strings. [`parse`] checks it without recursion, to Go's depth limit of
//!   [`MAX_DEPTH`] nested arrays and objects, so no input can overflow the stack.
//! - Strings decode as Go decodes them: escapes resolved, surrogate pairs joined; a lone
//!   surrogate escape and every byte that is not part of valid UTF-8 become U+FFFD.
//! - Member names are compared after decoding (`"ui\u0064"` is `uid`). Which names an
//!   object may have, twice or in another case, is the schema's ([`crate::schema`]) to say;
//!   [`Value::get`] takes the last of equal names, as Go does.
//! - Numbers are read as integers only, as Go reads them into integer fields: `1.0` and
//!   `1e3` are not integers, and a value that does not fit is not read.
//!
//! Pure logic, unit-tested on malformed input.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    /// Byte offset of the problem in the document.
    pub at: usize,
    pub what: &'static str,
}

/// One JSON value: exactly its bytes in a document [`parse`] checked.
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

/// Go's limit (`maxNestingDepth` in encoding/json): arrays and objects nested deeper are
/// refused there too. Configs nest about 6 deep.
pub const MAX_DEPTH: usize = 10_000;

/// Checks the whole document; its top-level value.
pub fn parse(doc: &[u8]) -> Result<Value<'_>, Error> {
    let err = |at, what| Err(Error { at, what });
    // One bit per open container: set for an object, clear for an array.
    let mut objects = [0u64; MAX_DEPTH.div_ceil(64)];
    let mut depth = 0usize;
    let start = skip_ws(doc, 0);
    let mut i = start;
    'value: loop {
        // A value starts at `i`.
        match doc.get(i) {
            None => return err(i, "a value is missing"),
            Some(&open @ (b'{' | b'[')) => {
                if depth == MAX_DEPTH {
                    return err(i, "nested more than 10000 deep (Go's limit)");
                }
                let object = open == b'{';
                let (word, bit) = (depth / 64, 1u64 << (depth % 64));
                objects[word] = if object { objects[word] | bit } else { objects[word] & !bit };
                depth += 1;
                i = skip_ws(doc, i + 1);
                if doc.get(i) == Some(if object { &b'}' } else { &b']' }) {
                    depth -= 1;
                    i += 1;
                } else {
                    if object {
                        i = member_name(doc, i)?;
                    }
                    continue 'value;
                }
            }
            Some(b'"') => i = skip_string(doc, i)?,
            Some(b't') if doc[i..].starts_with(b"true") => i += 4,
            Some(b'f') if doc[i..].starts_with(b"false") => i += 5,
            Some(b'n') if doc[i..].starts_with(b"null") => i += 4,
            Some(b'-' | b'0'..=b'9') => i = skip_number(doc, i)?,
            Some(_) => return err(i, "not a JSON value"),
        }
        // After a value: a comma and the next, or the ends of the containers it closes.
        loop {
            i = skip_ws(doc, i);
            if depth == 0 {
                break 'value;
            }
            let object = objects[(depth - 1) / 64] & (1 << ((depth - 1) % 64)) != 0;
            match doc.get(i) {
                Some(b',') => {
                    i = skip_ws(doc, i + 1);
                    if object {
                        i = member_name(doc, i)?;
                    }
                    continue 'value;
                }
                Some(b'}') if object => {}
                Some(b']') if !object => {}
                _ if object => return err(i, "expected ',' or '}' in an object"),
                _ => return err(i, "expected ',' or ']' in an array"),
            }
            depth -= 1;
            i += 1;
        }
    }
    if i != doc.len() {
        return err(i, "text after the JSON value");
    }
    Ok(Value { src: &doc[start..value_end(doc, start)] })
}

/// A member name and its ':' at `i`; the index of its value.
fn member_name(s: &[u8], i: usize) -> Result<usize, Error> {
    if s.get(i) != Some(&b'"') {
        return Err(Error { at: i, what: "expected a member name in quotes" });
    }
    let j = skip_ws(s, skip_string(s, i)?);
    if s.get(j) != Some(&b':') {
        return Err(Error { at: j, what: "expected ':' after a member name" });
    }
    Ok(skip_ws(s, j + 1))
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

fn digits(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, exactly.
fn skip_number(s: &[u8], i: usize) -> Result<usize, Error> {
    let bad = |at| Err(Error { at, what: "a malformed number" });
    let mut j = i + (s[i] == b'-') as usize;
    match s.get(j) {
        Some(b'0') => j += 1,
        Some(b'1'..=b'9') => j = digits(s, j),
        _ => return bad(i),
    }
    if s.get(j) == Some(&b'.') {
        let k = digits(s, j + 1);
        if k == j + 1 {
            return bad(i);
        }
        j = k;
    }
    if matches!(s.get(j), Some(b'e' | b'E')) {
        j += 1 + matches!(s.get(j + 1), Some(b'+' | b'-')) as usize;
        let k = digits(s, j);
        if k == j {
            return bad(i);
        }
        j = k;
    }
    // `01`, `1-2`: what follows a number cannot go on with number characters.
    if matches!(s.get(j), Some(b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')) {
        return bad(i);
    }
    Ok(j)
}

fn skip_string(s: &[u8], i: usize) -> Result<usize, Error> {
    let mut j = i + 1;
    while j < s.len() {
        match s[j] {
            b'"' => return Ok(j + 1),
            b'\\' => match s.get(j + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => j += 2,
                Some(b'u') if s.len() >= j + 6 && s[j + 2..j + 6].iter().all(u8::is_ascii_hexdigit) => j += 6,
                _ => return Err(Error { at: j, what: "a bad escape in a string" }),
            },
            0..=0x1f => return Err(Error { at: j, what: "a control character in a string" }),
            _ => j += 1,
        }
    }
    Err(Error { at: i, what: "a string that never ends" })
}

/// The end of the value at `i` in a document [`parse`] accepted (no recursion: brackets are
/// counted outside strings). Out-of-range input ends at the slice's end rather than panicking.
fn value_end(s: &[u8], i: usize) -> usize {
    let string_end = |mut j: usize| {
        j += 1;
        while j < s.len() {
            match s[j] {
                b'"' => return j + 1,
                b'\\' => j += 2,
                _ => j += 1,
            }
        }
        s.len()
    };
    match s.get(i) {
        None => s.len(),
        Some(b'"') => string_end(i),
        Some(b'{' | b'[') => {
            let (mut depth, mut j) = (0usize, i);
            while j < s.len() {
                match s[j] {
                    b'"' => {
                        j = string_end(j);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            s.len()
        }
        Some(_) => {
            let mut j = i;
            while j < s.len() && !matches!(s[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                j += 1;
            }
            j
        }
    }
}

/// U+FFFD, which Go puts for a lone surrogate and for each byte of invalid UTF-8.
const REPLACEMENT: &[u8] = "\u{fffd}".as_bytes();

/// Decodes the string between the quotes `raw` as Go's `unquote` does, handing each piece of
/// the result to `out`.
fn decode(raw: &[u8], mut out: impl FnMut(&[u8])) {
    let hex = |at: usize| -> Option<u32> {
        let h = raw.get(at..at + 4)?;
        h.iter().try_fold(0u32, |n, &c| Some(n * 16 + (c as char).to_digit(16)?))
    };
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i];
        if c == b'\\' {
            let e = raw.get(i + 1).copied().unwrap_or(b'\\');
            i += 2;
            let simple = match e {
                b'b' => 8,
                b'f' => 12,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'u' => 0,
                other => other,
            };
            if e != b'u' {
                out(&[simple]);
                continue;
            }
            let mut cp = hex(i).unwrap_or(0xfffd);
            i += 4;
            if (0xd800..0xe000).contains(&cp) {
                // A pair, high then low, is one character; anything else is U+FFFD (and a
                // second escape that does not complete a pair is read on its own).
                let low = if raw.get(i..i + 2) == Some(b"\\u") { hex(i + 2) } else { None };
                match low {
                    Some(low) if cp < 0xdc00 && (0xdc00..0xe000).contains(&low) => {
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                        i += 6;
                    }
                    _ => cp = 0xfffd,
                }
            }
            let mut utf8 = [0u8; 4];
            out(char::from_u32(cp).unwrap_or('\u{fffd}').encode_utf8(&mut utf8).as_bytes());
            continue;
        }
        if c < 0x80 {
            out(&raw[i..i + 1]);
            i += 1;
            continue;
        }
        // One character of valid UTF-8 as it is; else this byte alone is U+FFFD (Go's
        // utf8.DecodeRune says (RuneError, 1)) and the next byte is looked at afresh.
        let len = match c {
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => 0,
        };
        match raw.get(i..i + len) {
            Some(ch) if len > 0 && core::str::from_utf8(ch).is_ok() => {
                out(ch);
                i += len;
            }
            _ => {
                out(REPLACEMENT);
                i += 1;
            }
        }
    }
}

/// Case folding as Go's encoding/json matches member names to fields: ASCII letters in
/// either case, and the two characters Unicode folds onto ASCII letters — U+212A KELVIN SIGN
/// onto `k`, U+017F LONG S onto `s`. (No other character folds onto ASCII, and every field
/// name is ASCII.) True when decoded `name` matches the ASCII field name `field` so.
pub fn folds_to(name: &[u8], field: &str) -> bool {
    let (mut i, mut f) = (0, field.as_bytes().iter());
    while i < name.len() {
        let (c, n) = match &name[i..] {
            [0xe2, 0x84, 0xaa, ..] => (b'k', 3),
            [0xc5, 0xbf, ..] => (b's', 2),
            [c, ..] => (c.to_ascii_lowercase(), 1),
            [] => break,
        };
        match f.next() {
            Some(w) if w.to_ascii_lowercase() == c => i += n,
            _ => return false,
        }
    }
    f.next().is_none()
}

impl<'a> Value<'a> {
    pub fn kind(&self) -> Kind {
        match self.src.first() {
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b'"') => Kind::String,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'n') => Kind::Null,
            _ => Kind::Number,
        }
    }

    /// The members of an object, in order: (name, a string value; value). Empty for anything
    /// that is not an object.
    pub fn members(&self) -> impl Iterator<Item = (Value<'a>, Value<'a>)> + use<'a> {
        let s = self.src;
        let mut j = if self.kind() == Kind::Object { skip_ws(s, 1) } else { s.len() };
        core::iter::from_fn(move || {
            if j >= s.len() || s[j] != b'"' {
                return None;
            }
            let name_end = value_end(s, j);
            let name = Value { src: &s[j..name_end] };
            let v = skip_ws(s, skip_ws(s, name_end) + 1);
            let v_end = value_end(s, v);
            j = skip_ws(s, v_end);
            if s.get(j) == Some(&b',') {
                j = skip_ws(s, j + 1);
            }
            Some((name, Value { src: s.get(v..v_end)? }))
        })
    }

    /// Whether this string decodes to exactly `name`.
    pub fn is(&self, name: &[u8]) -> bool {
        let Some(raw) = self.raw_str() else { return false };
        if !raw.contains(&b'\\') && raw.is_ascii() {
            return raw == name;
        }
        let mut rest = name;
        let mut same = true;
        decode(raw, |piece| {
            same = same && rest.starts_with(piece);
            rest = rest.get(piece.len()..).unwrap_or(b"");
        });
        same && rest.is_empty()
    }

    /// The member `name` of an object, names compared decoded; the last of equal names, as
    /// Go reads them. A `null` member is no member (Go leaves the field as it was).
    pub fn get(&self, name: &str) -> Option<Value<'a>> {
        self.members().filter(|(n, v)| v.kind() != Kind::Null && n.is(name.as_bytes())).last().map(|(_, v)| v)
    }

    /// The elements of an array; empty for anything that is not an array.
    pub fn items(&self) -> impl Iterator<Item = Value<'a>> + use<'a> {
        let s = self.src;
        let mut j = if self.kind() == Kind::Array { skip_ws(s, 1) } else { s.len() };
        core::iter::from_fn(move || {
            if j >= s.len() || s[j] == b']' {
                return None;
            }
            let end = value_end(s, j);
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

    /// An integer that fits an i64, as Go's `strconv.ParseInt` takes it (no fraction, no
    /// exponent).
    pub fn as_i64(&self) -> Option<i64> {
        let (neg, digits) = match self.src.split_first()? {
            (b'-', rest) => (true, rest),
            _ => (false, self.src),
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        // Accumulated negative, so i64::MIN fits.
        let mut n: i64 = 0;
        for &d in digits {
            n = n.checked_mul(10)?.checked_sub((d - b'0') as i64)?;
        }
        if neg { Some(n) } else { n.checked_neg() }
    }

    /// A non-negative integer that fits a u64 (`-0` is not one, as for Go's `ParseUint`).
    pub fn as_u64(&self) -> Option<u64> {
        if self.src.is_empty() {
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
        (self.kind() == Kind::String && self.src.len() >= 2).then(|| &self.src[1..self.src.len() - 1])
    }

    /// Hands the decoded string to `out` piece by piece, NULs and all (None: not a string).
    pub fn decode_with(&self, out: impl FnMut(&[u8])) -> Option<()> {
        decode(self.raw_str()?, out);
        Some(())
    }

    /// The length of the decoded string (None: not a string).
    pub fn decoded_len(&self) -> Option<usize> {
        let raw = self.raw_str()?;
        let mut n = 0;
        decode(raw, |piece| n += piece.len());
        Some(n)
    }

    /// The decoded string in `buf`, when it is a string that fits (for names and words,
    /// which are short; a longer one is none of them).
    pub fn decoded<'b>(&self, buf: &'b mut [u8]) -> Option<&'b [u8]> {
        let n = self.decode_str(buf)?;
        Some(&buf[..n])
    }

    /// Decodes a string into `out` as Go does (see the module's notes); returns the length,
    /// or None if it is not a string, holds a NUL (no C string can), or does not fit.
    pub fn decode_str(&self, out: &mut [u8]) -> Option<usize> {
        let raw = self.raw_str()?;
        let (mut n, mut fits) = (0, true);
        decode(raw, |piece| match out.get_mut(n..n + piece.len()) {
            Some(dst) if fits => {
                dst.copy_from_slice(piece);
                n += piece.len();
            }
            _ => fits = false,
        });
        (fits && !out[..n].contains(&0)).then_some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(doc: &str) -> &'static str {
        parse(doc.as_bytes()).unwrap_err().what
    }

    fn decoded(doc: &[u8]) -> Vec<u8> {
        let v = parse(doc).unwrap();
        let mut buf = vec![0u8; v.decoded_len().unwrap()];
        let n = v.decode_str(&mut buf).unwrap();
        buf.truncate(n);
        buf
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
    fn names_are_compared_decoded_and_the_last_wins_as_in_go() {
        // Control: before, "ui\u0064" was never matched and uid 1000 ran as 0.
        let v = parse(br#"{"ui\u0064": 1000, "s\u0065ccomp": {}, "a": 1, "a": 2, "n": 5, "n": null}"#).unwrap();
        assert_eq!(v.get("uid").and_then(|u| u.as_u64()), Some(1000));
        assert!(v.get("seccomp").is_some());
        assert_eq!(v.get("a").and_then(|u| u.as_u64()), Some(2), "Go: the last of two equal names");
        assert_eq!(v.get("n").and_then(|u| u.as_u64()), Some(5), "null leaves it as it was");
        assert!(folds_to(b"NoNewPrivileges", "noNewPrivileges"));
        assert!(folds_to("\u{17f}eccomp".as_bytes(), "seccomp"), "Go folds U+017F onto s");
        assert!(folds_to("bloc\u{212a}IO".as_bytes(), "blockIO"), "and U+212A onto k");
        assert!(!folds_to(b"uids", "uid"));
        assert!(!folds_to(b"ui", "uid"));
        assert!(!folds_to("\u{e9}".as_bytes(), "e"));
    }

    #[test]
    fn escapes_and_bad_utf8_decode_as_go_decodes_them() {
        assert_eq!(decoded(br#""a\u00e9\ud83d\ude00\n\/""#), "a\u{e9}\u{1f600}\n/".as_bytes());
        // Go: a lone surrogate is U+FFFD; a high one before another escape leaves that one be.
        assert_eq!(decoded(br#""sh\ud800""#), "sh\u{fffd}".as_bytes());
        assert_eq!(decoded(br#""\udc00\ud800\u0041""#), "\u{fffd}\u{fffd}A".as_bytes());
        assert_eq!(decoded(br#""\ud800\ud83d\ude00""#), "\u{fffd}\u{1f600}".as_bytes());
        // Each byte outside valid UTF-8 is one U+FFFD (Go's DecodeRune: RuneError, 1).
        assert_eq!(decoded(b"\"ru\xffnc\""), "ru\u{fffd}nc".as_bytes());
        assert_eq!(decoded(b"\"\xf0\x9f\x98A\""), "\u{fffd}\u{fffd}\u{fffd}A".as_bytes());
        assert_eq!(decoded(b"\"\xed\xa0\x80\""), "\u{fffd}\u{fffd}\u{fffd}".as_bytes(), "an encoded surrogate");
        assert_eq!(decoded(b"\"\xc0\xaf\""), "\u{fffd}\u{fffd}".as_bytes(), "an overlong '/'");
        assert_eq!(decoded("\"é€😀\"".as_bytes()), "é€😀".as_bytes());
        let mut buf = [0u8; 32];
        assert_eq!(parse(br#""nul\u0000""#).unwrap().decode_str(&mut buf), None, "NUL cannot be in a C string");
        assert_eq!(parse(br#""toolong""#).unwrap().decode_str(&mut buf[..3]), None);
        assert!(parse(br#""ab""#).unwrap().is(b"ab"));
        assert!(parse(br#""a\u0062""#).unwrap().is(b"ab"));
        assert!(!parse(br#""a\u0062""#).unwrap().is(b"abc"));
        assert!(!parse(br#""a\u0062c""#).unwrap().is(b"ab"));
    }

    #[test]
    fn malformed_documents_are_refused_with_a_reason() {
        assert_eq!(err(""), "a value is missing");
        assert_eq!(err("{"), "expected a member name in quotes");
        assert_eq!(err(r#"{"a" 1}"#), "expected ':' after a member name");
        assert_eq!(err(r#"{"a": 1,}"#), "expected a member name in quotes");
        assert_eq!(err(r#"[1 2]"#), "expected ',' or ']' in an array");
        assert_eq!(err(r#"[1,]"#), "not a JSON value");
        assert_eq!(err(r#"{"a": 1]"#), "expected ',' or '}' in an object");
        assert_eq!(err(r#"{"a": tru}"#), "not a JSON value");
        assert_eq!(err(r#""abc"#), "a string that never ends");
        assert_eq!(err(r#""a\qb""#), "a bad escape in a string");
        assert_eq!(err(r#""\u12g4""#), "a bad escape in a string");
        assert_eq!(err("\"a\u{1}\""), "a control character in a string");
        assert_eq!(err("{} {}"), "text after the JSON value");
        assert_eq!(err("\u{feff}{}"), "not a JSON value", "a BOM, as Go refuses it");
        assert_eq!(err("{}\0"), "text after the JSON value");
        assert_eq!(line_of(b"{\n\n x", 4), 3);
    }

    #[test]
    fn numbers_follow_the_grammar_exactly() {
        // Controls: before, each of these was read (01 as 1).
        for bad in ["01", "-01", "1.", "1e", "1e+", "-", "1-2", "1.e3", "1-2e.+5", "00", "-a", "1e3.5"] {
            assert_eq!(err(&format!("[{bad}]")), "a malformed number", "{bad}");
        }
        assert_eq!(err("[.5]"), "not a JSON value");
        assert_eq!(err("[+1]"), "not a JSON value");
        for good in ["0", "-0", "1", "-1", "10", "1.5", "0.0", "1e3", "1E+3", "1e-3", "-0.5e10", "123456789012345678901234567890"] {
            assert!(parse(format!("[{good}]").as_bytes()).is_ok(), "{good}");
        }
        assert_eq!(parse(b"18446744073709551615").unwrap().as_u64(), Some(u64::MAX));
        assert_eq!(parse(b"18446744073709551616").unwrap().as_u64(), None);
        assert_eq!(parse(b"-9223372036854775808").unwrap().as_i64(), Some(i64::MIN));
        assert_eq!(parse(b"9223372036854775808").unwrap().as_i64(), None);
        assert_eq!(parse(b"-9223372036854775809").unwrap().as_i64(), None);
        assert_eq!(parse(b"1.5").unwrap().as_i64(), None);
        assert_eq!(parse(b"1.0").unwrap().as_u64(), None, "Go: not an integer");
        assert_eq!(parse(b"1e3").unwrap().as_u64(), None, "Go: not an integer");
        assert_eq!(parse(b"-0").unwrap().as_u64(), None, "Go's ParseUint refuses -0");
        assert_eq!(parse(b"-0").unwrap().as_i64(), Some(0));
    }

    #[test]
    fn nesting_to_gos_limit_without_recursion() {
        // Control: before, 65 levels were refused (Go takes 10000).
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(deep(65).as_bytes()).is_ok());
        assert!(parse(deep(MAX_DEPTH).as_bytes()).is_ok());
        assert_eq!(err(&deep(MAX_DEPTH + 1)), "nested more than 10000 deep (Go's limit)");
        // Far deeper than any stack would take, refused in bounded time and stack.
        assert_eq!(err(&"[{\"a\":".repeat(200_000)), "nested more than 10000 deep (Go's limit)");
        let mixed = format!("{}1{}", "{\"a\":[".repeat(4000), "]}".repeat(4000));
        let v = parse(mixed.as_bytes()).unwrap();
        assert_eq!(v.get("a").unwrap().items().count(), 1);
    }
}
