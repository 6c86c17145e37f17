//! The JSON reader against Python's `json` module, on the same bytes: for thousands of
//! generated and mutated documents, [`json::parse`] accepts exactly those Python's strict
//! reading accepts (constants such as `NaN` refused, as Go refuses them), and every string
//! and integer decodes to the same value. The deliberate differences are left out of the
//! generated documents and tested in json.rs instead: Go's reading of a lone surrogate is
//! U+FFFD (Python keeps it: it is mapped to U+FFFD before comparing), Go's and knocker's
//! nesting limit is 10000 (Python's is its recursion limit, about 1000), and bytes that are
//! not UTF-8 are U+FFFD to Go and an error to Python.

use crate::json::{self, Kind, Value};
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};

const PYTHON: &str = r#"
import json, sys
def refuse(name):
    raise ValueError(name)
def canon(v):
    if v is None: return 'n'
    if v is True: return 't'
    if v is False: return 'f'
    if isinstance(v, int): return 'i%d' % v if -2**63 <= v < 2**64 else 'I'
    if isinstance(v, float): return 'F'
    if isinstance(v, str): return 's' + ''.join('\ufffd' if 0xd800 <= ord(c) < 0xe000 else c for c in v).encode().hex()
    if isinstance(v, tuple): return '{' + ','.join(canon(k) + ':' + canon(x) for k, x in v[1]) + '}'
    return '[' + ','.join(canon(x) for x in v) + ']'
for line in sys.stdin:
    doc = bytes.fromhex(line.strip()).decode('utf-8')
    try:
        v = json.loads(doc, object_pairs_hook=lambda pairs: ('object', pairs), parse_constant=refuse)
        print(canon(v))
    except (ValueError, RecursionError):
        print('E')
"#;

/// The same canonical form, from knocker's reader.
fn canon(v: Value, out: &mut String) {
    match v.kind() {
        Kind::Null => out.push('n'),
        Kind::Bool => out.push(if v.as_bool() == Some(true) { 't' } else { 'f' }),
        Kind::Number => match (v.as_i64(), v.as_u64()) {
            (Some(n), _) => write!(out, "i{n}").unwrap(),
            (_, Some(n)) => write!(out, "i{n}").unwrap(),
            _ if v.src.iter().any(|c| matches!(c, b'.' | b'e' | b'E')) => out.push('F'),
            _ => out.push('I'),
        },
        Kind::String => {
            out.push('s');
            v.decode_with(|piece| piece.iter().for_each(|b| write!(out, "{b:02x}").unwrap())).unwrap();
        }
        Kind::Array => {
            out.push('[');
            for (i, e) in v.items().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canon(e, out);
            }
            out.push(']');
        }
        Kind::Object => {
            out.push('{');
            for (i, (k, e)) in v.members().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canon(k, out);
                out.push(':');
                canon(e, out);
            }
            out.push('}');
        }
    }
}

/// A small deterministic generator (xorshift64).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }

    fn ws(&mut self, out: &mut String) {
        if self.below(4) == 0 {
            out.push_str(self.pick(&[" ", "\t", "\n", "\r\n", "  "]));
        }
    }

    fn number(&mut self) -> String {
        const FORMS: [&str; 24] = [
            "0", "-0", "1", "-1", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
            "18446744073709551615", "18446744073709551616", "1.5", "0.0", "1e3", "1E+3", "1e-3", "-0.5e10", "4294967295", "4294967296",
            "123456789012345678901234567890", "1.0", "10", "100", "2e0", "-1E-0",
        ];
        if self.below(2) == 0 {
            return self.pick(&FORMS).to_string();
        }
        let mut s = String::new();
        if self.below(3) == 0 {
            s.push('-');
        }
        write!(s, "{}", self.next() % 10u64.pow(self.below(19) as u32 + 1)).unwrap();
        if self.below(4) == 0 {
            write!(s, ".{}", self.below(1000)).unwrap();
        }
        if self.below(5) == 0 {
            write!(s, "{}{}{}", self.pick(&["e", "E"]), self.pick(&["", "+", "-"]), self.below(400)).unwrap();
        }
        s
    }

    fn string(&mut self) -> String {
        const PIECES: [&str; 30] = [
            "a", "b", "Z", "0", " ", "é", "€", "😀", "\u{7f}", "\u{fffd}", "\\n", "\\t", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\r",
            "\\u0041", "\\u00e9", "\\u20AC", "\\ud83d\\ude00", "\\uD83D\\uDE00", "\\ud800", "\\udc00", "\\ud800\\u0041", "\\udbff\\udfff",
            "\\u0000", "\\ud800\\ud800", "ui\\u0064",
        ];
        let mut s = String::from("\"");
        for _ in 0..self.below(6) {
            s.push_str(self.pick(&PIECES));
        }
        s.push('"');
        s
    }

    fn value(&mut self, depth: usize, out: &mut String) {
        let choice = self.below(if depth > 6 { 5 } else { 7 });
        match choice {
            0 => out.push_str(self.pick(&["null", "true", "false"])),
            1 | 2 => out.push_str(&self.number()),
            3 | 4 => out.push_str(&self.string()),
            5 => {
                out.push('[');
                for i in 0..self.below(4) {
                    if i > 0 {
                        out.push(',');
                    }
                    self.ws(out);
                    self.value(depth + 1, out);
                    self.ws(out);
                }
                out.push(']');
            }
            _ => {
                out.push('{');
                for i in 0..self.below(4) {
                    if i > 0 {
                        out.push(',');
                    }
                    self.ws(out);
                    let key = if self.below(3) == 0 { "\"uid\"".to_string() } else { self.string() };
                    out.push_str(&key);
                    self.ws(out);
                    out.push(':');
                    self.ws(out);
                    self.value(depth + 1, out);
                }
                out.push('}');
            }
        }
    }

    /// A document, mutated now and then at the character level (so it stays UTF-8).
    fn document(&mut self) -> String {
        let mut doc = String::new();
        self.ws(&mut doc);
        self.value(0, &mut doc);
        self.ws(&mut doc);
        if self.below(2) == 0 {
            return doc;
        }
        const INSERTS: [&str; 27] = [
            "0", "1", "9", "-", "+", ".", "e", "E", "\"", "\\", "u", "{", "}", "[", "]", ",", ":", " ", "t", "n", "x", "\u{1}", "\u{feff}",
            "NaN", "Infinity", "\\u12", "é",
        ];
        let mut chars: Vec<char> = doc.chars().collect();
        for _ in 0..1 + self.below(3) {
            let at = self.below(chars.len() + 1);
            match self.below(3) {
                0 if at < chars.len() => {
                    chars.remove(at);
                }
                1 if at < chars.len() => {
                    let end = (at + 1 + self.below(8)).min(chars.len());
                    let copy: Vec<char> = chars[at..end].to_vec();
                    chars.splice(at..at, copy);
                }
                _ => {
                    let piece: Vec<char> = self.pick(&INSERTS).chars().collect();
                    chars.splice(at..at, piece);
                }
            }
        }
        chars.into_iter().collect()
    }
}

#[test]
fn the_reader_accepts_and_decodes_what_pythons_json_does() {
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let mut docs: Vec<String> = (0..30_000).map(|_| g.document()).collect();
    // The findings' own JSON files, and the sharp edges of the grammar.
    for edge in ["01", "1.", "1e", "[1-2]", "-", "\u{feff}[]", "[]\0", "[1,]", "{\"a\":1,}", "NaN", "-Infinity", "\"\\u12G4\"", "[.5]", "\"\t\"", " "] {
        docs.push(edge.to_string());
    }
    let mut python = match Command::new("python3").args(["-c", PYTHON]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn() {
        Ok(p) => p,
        Err(e) => panic!("python3 is needed for the differential test of the JSON reader: {e}"),
    };
    let mut input = String::new();
    for d in &docs {
        for b in d.as_bytes() {
            write!(input, "{b:02x}").unwrap();
        }
        input.push('\n');
    }
    let mut stdin = python.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = python.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "python3: {}", out.status);
    let theirs: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(theirs.len(), docs.len());
    let (mut accepted, mut differ) = (0, Vec::new());
    for (doc, theirs) in docs.iter().zip(theirs) {
        let ours = match json::parse(doc.as_bytes()) {
            Ok(v) => {
                let mut s = String::new();
                canon(v, &mut s);
                s
            }
            Err(_) => "E".to_string(),
        };
        accepted += (ours != "E") as usize;
        if ours != theirs {
            differ.push(format!("{doc:?}: knocker {ours}, python {theirs}"));
        }
    }
    assert!(differ.is_empty(), "{} of {} documents read differently, e.g.:\n{}", differ.len(), docs.len(), differ[..differ.len().min(10)].join("\n"));
    // Both sides of the grammar are exercised.
    assert!(accepted > docs.len() / 3 && accepted < docs.len() * 9 / 10, "{accepted} of {} accepted", docs.len());
}
