//! E-mail tracking (issue 15 §3), the pure part: signed tracking links, the rewriting of a
//! message's HTML (click links, the open pixel, the unsubscribe footer), and what an inbound
//! message (a reply or a bounce, as raw MIME) says about the messages Rivet sent.
//!
//! A link's [`Token`] names the company, the message, what the link does and, for a click,
//! which of the message's links it stands for — never a URL: a click redirects to the link
//! stored with the message ([`links`] of its HTML body, in order), so no request can make Rivet
//! redirect anywhere else. The token carries an HMAC-SHA256 tag under a key derived from the
//! installation's secret key ([`crate::secrets::SecretKey::derive`] with [`PURPOSE`]); a token
//! that is not signed, or was altered, does not [`Token::verify`] (the routes answer 404).
//!
//! Storage, events and the routes are the store's and the server's `tracking` modules.

use crate::ids::{CompanyId, EmailMessageId};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

/// What the installation key is derived for ([`crate::secrets::SecretKey::derive`]).
pub const PURPOSE: &str = "tracking links";

/// Bytes of the HMAC-SHA256 tag a token keeps (128 bits).
const TAG_LEN: usize = 16;
/// Company, message, kind, link index.
const PAYLOAD_LEN: usize = 16 + 16 + 1 + 2;

/// What a tracking link does; its letter is the path's (`/t/o/…`, `/t/c/…`, `/t/u/…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// The 1×1 image that records an open.
    Open,
    /// A link of the message, recorded and redirected.
    Click,
    /// The unsubscribe page and its one-click POST (RFC 8058).
    Unsubscribe,
}

impl LinkKind {
    pub const fn letter(self) -> char {
        match self {
            Self::Open => 'o',
            Self::Click => 'c',
            Self::Unsubscribe => 'u',
        }
    }

    fn byte(self) -> u8 {
        self.letter() as u8
    }
}

/// What a tracking link names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub company: CompanyId,
    pub message: EmailMessageId,
    pub kind: LinkKind,
    /// The index of the link in the message's HTML ([`links`]); 0 for the other kinds.
    pub link: u16,
}

fn tag(key: &[u8; 32], payload: &[u8]) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key) else {
        // HMAC takes keys of any length; this branch cannot be reached.
        return Vec::new();
    };
    mac.update(payload);
    mac.finalize().into_bytes()[..TAG_LEN].to_vec()
}

impl Token {
    fn payload(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PAYLOAD_LEN);
        out.extend_from_slice(self.company.uuid().as_bytes());
        out.extend_from_slice(self.message.uuid().as_bytes());
        out.push(self.kind.byte());
        out.extend_from_slice(&self.link.to_be_bytes());
        out
    }

    /// The token as a URL path segment: base64url of the payload and its tag.
    pub fn sign(&self, key: &[u8; 32]) -> String {
        let mut bytes = self.payload();
        let tag = tag(key, &bytes);
        bytes.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The token `text` is, if it is one signed under `key` for a link of `kind`; any other text
    /// (unsigned, altered, of another kind or another installation) is `None`.
    pub fn verify(key: &[u8; 32], kind: LinkKind, text: &str) -> Option<Self> {
        use hmac::{KeyInit, Mac};
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
        if bytes.len() != PAYLOAD_LEN + TAG_LEN {
            return None;
        }
        let (payload, given) = bytes.split_at(PAYLOAD_LEN);
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).ok()?;
        mac.update(payload);
        mac.verify_truncated_left(given).ok()?;
        if payload[32] != kind.byte() {
            return None;
        }
        let company = Uuid::from_slice(&payload[..16]).ok()?;
        let message = Uuid::from_slice(&payload[16..32]).ok()?;
        Some(Self {
            company: CompanyId::from_uuid(company),
            message: EmailMessageId::from_uuid(message),
            kind,
            link: u16::from_be_bytes([payload[33], payload[34]]),
        })
    }

    /// The link's address under the installation's public URL `base`.
    pub fn url(&self, base: &str, key: &[u8; 32]) -> String {
        format!(
            "{}/t/{}/{}",
            base.trim_end_matches('/'),
            self.kind.letter(),
            self.sign(key)
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The HTML body

/// Where each tracked link's address sits in `html`: the value of the `href` of every `<a>` tag
/// that points to `http:` or `https:` (not `mailto:`, not an anchor), in order.
fn hrefs(html: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let lower = html.to_ascii_lowercase();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(pos) = lower[at..].find("<a") {
        let start = at + pos;
        at = start + 2;
        if !lower[at..].starts_with(|c: char| c.is_ascii_whitespace()) {
            continue;
        }
        let Some(end) = lower[at..].find('>').map(|e| at + e) else {
            break;
        };
        let tag = &lower[at..end];
        let mut search = 0;
        while let Some(h) = tag[search..].find("href") {
            let h = search + h;
            search = h + 4;
            let before_ok = tag[..h].ends_with(|c: char| c.is_ascii_whitespace());
            let rest = tag[h + 4..].trim_start();
            if !before_ok || !rest.starts_with('=') {
                continue;
            }
            let value_at = at + h + 4 + (tag[h + 4..].len() - rest.len()) + 1;
            let after_eq = &html[value_at..end];
            let trimmed = after_eq.trim_start();
            let value_start = value_at + (after_eq.len() - trimmed.len());
            let (range, value) = match trimmed.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let Some(close) = trimmed[1..].find(q) else {
                        break;
                    };
                    let range = value_start + 1..value_start + 1 + close;
                    (range.clone(), &html[range])
                }
                _ => {
                    let len = trimmed
                        .find(|c: char| c.is_ascii_whitespace() || c == '>')
                        .unwrap_or(trimmed.len());
                    let range = value_start..value_start + len;
                    (range.clone(), &html[range])
                }
            };
            let url = unescape(value.trim());
            let scheme = url.to_ascii_lowercase();
            if scheme.starts_with("http://") || scheme.starts_with("https://") {
                found.push((range, url));
            }
            break;
        }
        at = end;
    }
    found
}

/// The few entities an attribute value carries (`&amp;` in a query string above all).
fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The links of an HTML body that click tracking stands in for, in order: a click link's index
/// names one of these.
pub fn links(html: &str) -> Vec<String> {
    hrefs(html).into_iter().map(|(_, url)| url).collect()
}

/// `html` with the `i`-th of its [`links`] replaced by `to(i)`.
pub fn rewrite_links(html: &str, mut to: impl FnMut(usize) -> String) -> String {
    let mut out = String::with_capacity(html.len() + 256);
    let mut last = 0;
    for (i, (range, _)) in hrefs(html).into_iter().enumerate() {
        out.push_str(&html[last..range.start]);
        out.push_str(&escape(&to(i)));
        last = range.end;
    }
    out.push_str(&html[last..]);
    out
}

/// `html` with `fragment` placed at the end of its body (before `</body>` when it has one).
pub fn append_to_body(html: &str, fragment: &str) -> String {
    match html.to_ascii_lowercase().rfind("</body") {
        Some(at) => format!("{}{fragment}{}", &html[..at], &html[at..]),
        None => format!("{html}{fragment}"),
    }
}

/// The open pixel's tag.
pub fn pixel(url: &str) -> String {
    format!(
        "<img src=\"{}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;border:0;width:1px;height:1px\">",
        escape(url)
    )
}

/// The unsubscribe footer of an HTML body.
pub fn unsubscribe_html(url: &str) -> String {
    format!(
        "<p style=\"font-size:12px;color:#666\">Do not want these e-mails? <a href=\"{}\">Unsubscribe</a>.</p>",
        escape(url)
    )
}

/// The unsubscribe footer of a plain-text body.
pub fn unsubscribe_text(url: &str) -> String {
    format!("\n\n--\nTo stop receiving these e-mails: {url}\n")
}

/// The 1×1 transparent GIF the open pixel answers with.
pub const PIXEL_GIF: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

// ---------------------------------------------------------------------------------------------
// Inbound messages

/// What an inbound message says about the messages Rivet sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// The `Message-ID`s it refers to, angle brackets included, nearest first: `In-Reply-To`,
    /// then `References` newest first; for a bounce, the ids of the returned message's headers.
    pub references: Vec<String>,
    /// A delivery status report (`multipart/report; report-type=delivery-status`) or a message
    /// from `MAILER-DAEMON` / `postmaster`.
    pub bounce: bool,
    /// Its own `Message-ID`, angle brackets included (a replayed message is taken once).
    pub message_id: Option<String>,
    pub from: Option<String>,
    pub subject: Option<String>,
    /// Its plain-text body (the first text part).
    pub text: String,
}

fn bracketed(id: &str) -> String {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    format!("<{id}>")
}

/// Every `Message-ID:` header line in `raw` (a bounce quotes the returned message's headers as
/// a `message/rfc822` or `text/rfc822-headers` part), in order.
fn quoted_message_ids(raw: &str) -> Vec<String> {
    raw.lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            if !name.trim().eq_ignore_ascii_case("message-id") {
                return None;
            }
            let value = value.trim();
            (value.starts_with('<') && value.ends_with('>') && value.len() > 2)
                .then(|| value.to_owned())
        })
        .collect()
}

/// Parse a raw MIME message (`None`: not a message at all).
pub fn parse_inbound(raw: &[u8]) -> Option<Inbound> {
    use mail_parser::{MessageParser, MimeHeaders};
    let message = MessageParser::default().parse(raw)?;
    if message.headers().is_empty() {
        return None;
    }
    let own_id = message.message_id().map(bracketed);
    let from = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(|a| a.trim().to_lowercase());
    let report = message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"))
    });
    let daemon = from.as_deref().is_some_and(|f| {
        let local = f.split('@').next().unwrap_or_default();
        local == "mailer-daemon" || local == "postmaster"
    });
    let bounce = report || daemon;
    let mut references: Vec<String> = Vec::new();
    let mut add = |id: String| {
        if !references.contains(&id) && Some(&id) != own_id.as_ref() {
            references.push(id);
        }
    };
    if let Some(ids) = message.in_reply_to().as_text_list() {
        ids.iter().for_each(|id| add(bracketed(id)));
    }
    if let Some(ids) = message.references().as_text_list() {
        ids.iter().rev().for_each(|id| add(bracketed(id)));
    }
    if bounce {
        let text = String::from_utf8_lossy(raw);
        // The report's own header block comes first: its Message-ID is skipped by `add`.
        quoted_message_ids(&text).into_iter().for_each(&mut add);
    }
    let text = message
        .body_text(0)
        .map(|t| t.into_owned())
        .unwrap_or_default();
    Some(Inbound {
        references,
        bounce,
        message_id: own_id,
        from,
        subject: message.subject().map(str::to_owned),
        text,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn token(kind: LinkKind, link: u16) -> Token {
        Token {
            company: CompanyId::new(),
            message: EmailMessageId::new(),
            kind,
            link,
        }
    }

    #[test]
    fn signed_tokens_verify_and_altered_or_foreign_ones_do_not() {
        let key = [7u8; 32];
        let t = token(LinkKind::Click, 3);
        let text = t.sign(&key);
        assert_eq!(Token::verify(&key, LinkKind::Click, &text), Some(t));
        // Another kind's path, another key, an altered byte, an unsigned payload: nothing.
        assert_eq!(Token::verify(&key, LinkKind::Open, &text), None);
        assert_eq!(Token::verify(&[8u8; 32], LinkKind::Click, &text), None);
        let mut bytes = URL_SAFE_NO_PAD.decode(&text).unwrap();
        bytes[33] ^= 1;
        let altered = URL_SAFE_NO_PAD.encode(&bytes);
        assert_eq!(Token::verify(&key, LinkKind::Click, &altered), None);
        let unsigned = URL_SAFE_NO_PAD.encode(t.payload());
        assert_eq!(Token::verify(&key, LinkKind::Click, &unsigned), None);
        assert_eq!(Token::verify(&key, LinkKind::Click, "not a token"), None);
        assert_eq!(Token::verify(&key, LinkKind::Click, ""), None);
        assert!(
            t.url("https://crm.example/", &key)
                .starts_with("https://crm.example/t/c/")
        );
    }

    #[test]
    fn links_are_found_in_order_and_rewritten_in_place() {
        let html = r##"<p>Hi <a href="https://a.example/x?y=1&amp;z=2">one</a>,
            <A class="b" HREF='http://b.example'>two</A> <a href="mailto:x@y.z">mail</a>
            <a href="#top">top</a> <abbr href="https://no.example">no</abbr>
            <a href=https://c.example/ >three</a></p>"##;
        assert_eq!(
            links(html),
            vec![
                "https://a.example/x?y=1&z=2".to_owned(),
                "http://b.example".to_owned(),
                "https://c.example/".to_owned(),
            ]
        );
        let out = rewrite_links(html, |i| format!("https://t.example/{i}?a&b"));
        assert!(out.contains(r#"<a href="https://t.example/0?a&amp;b">one</a>"#));
        assert!(out.contains("HREF='https://t.example/1?a&amp;b'"));
        assert!(out.contains("href=https://t.example/2?a&amp;b >three"));
        assert!(out.contains("mailto:x@y.z") && out.contains("#top"));
        assert!(out.contains("https://no.example"));
        assert_eq!(links(&out).len(), 3);
        assert_eq!(rewrite_links("no links", |_| String::new()), "no links");
    }

    #[test]
    fn fragments_go_before_the_end_of_the_body() {
        assert_eq!(
            append_to_body("<html><body>x</BODY></html>", "<img>"),
            "<html><body>x<img></BODY></html>"
        );
        assert_eq!(append_to_body("<p>x</p>", "<img>"), "<p>x</p><img>");
        assert!(pixel("https://t/o/a\"b").contains("https://t/o/a&quot;b"));
    }

    #[test]
    fn a_reply_names_the_message_it_answers() {
        let raw = b"From: Ann <Ann@Example.com>\r\nTo: sales@acme.test\r\nSubject: Re: Hello\r\n\
            Message-ID: <reply-1@example.com>\r\nIn-Reply-To: <sent-2@acme.test>\r\n\
            References: <sent-1@acme.test> <sent-2@acme.test>\r\n\r\nYes please.\r\n";
        let inbound = parse_inbound(raw).unwrap();
        assert!(!inbound.bounce);
        assert_eq!(
            inbound.references,
            vec![
                "<sent-2@acme.test>".to_owned(),
                "<sent-1@acme.test>".to_owned()
            ]
        );
        assert_eq!(inbound.message_id.as_deref(), Some("<reply-1@example.com>"));
        assert_eq!(inbound.from.as_deref(), Some("ann@example.com"));
        assert_eq!(inbound.subject.as_deref(), Some("Re: Hello"));
        assert_eq!(inbound.text.trim(), "Yes please.");
    }

    #[test]
    fn a_delivery_status_report_is_a_bounce_of_the_returned_message() {
        let raw = "From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\n\
            To: sales@acme.test\r\nSubject: Undelivered Mail Returned to Sender\r\n\
            Message-ID: <dsn-1@mx.example>\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
            --b\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n\
            --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n\
            Final-Recipient: rfc822; gone@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\
            --b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: sales@acme.test\r\n\
            Message-ID: <sent-9@acme.test>\r\nSubject: Hello\r\n--b--\r\n";
        let inbound = parse_inbound(raw.as_bytes()).unwrap();
        assert!(inbound.bounce);
        assert_eq!(inbound.references, vec!["<sent-9@acme.test>".to_owned()]);
        assert!(parse_inbound(b"").is_none());
    }
}
