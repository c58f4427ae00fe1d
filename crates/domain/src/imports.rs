//! Imports (issue 13 §4), the pure part: reading an uploaded file — CSV in UTF-8 (with or
//! without a byte-order mark), UTF-16 with a mark, or Windows-1252/Latin-1, or an XLSX workbook —
//! into a header and rows of text, with what was detected (encoding, delimiter); the suggested
//! mapping of its columns to a record's fields; a cell's text as the JSON value a field takes;
//! and an import's options. Bytes in, text out: the store keeps the file, the server turns a
//! mapped row into a record's input and saves it.
//!
//! A file is checked whole when it is opened, so what is wrong with it as a file (empty, a header
//! only, an unclosed quote, rows of another width than the header, bytes that are no text, a cell
//! of more than [`MAX_CELL_CHARS`], a workbook that cannot be read) is said before anything is
//! imported; what is wrong with one row's values is that row's error only.

use crate::choices::choice_enum;
use crate::ids::UserId;
use crate::validate::FieldErrors;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;

/// The longest cell a file may hold: a longer one is a file that is not a table (e.g. 50 MB in
/// one column), refused as a whole.
pub const MAX_CELL_CHARS: usize = 65_536;

/// The most columns a file may have.
pub const MAX_COLUMNS: usize = 500;

choice_enum!(
    /// The kind of file an import reads.
    FileFormat {
        Csv => "csv",
        Xlsx => "xlsx",
    }
);

choice_enum!(
    /// The records an import creates.
    ImportEntity {
        Leads => "leads",
        Contacts => "contacts",
        Accounts => "accounts",
        Deals => "deals",
    }
);

choice_enum!(
    /// What a row that duplicates an existing record does: `skip` it (the default), `update`
    /// the record it matches with the row's values, or `create` a new record anyway.
    DuplicatePolicy {
        Skip => "skip",
        Update => "update",
        Create => "create",
    }
);

choice_enum!(
    /// Where an import stands: `uploaded` (mapping may change), `queued` and `running` (its
    /// job), `completed`, `cancelled` or `failed` (mapping may change and it may run on),
    /// `undoing` and `undone` (what it created is being or was deleted).
    ImportStatus {
        Uploaded => "uploaded",
        Queued => "queued",
        Running => "running",
        Completed => "completed",
        Cancelled => "cancelled",
        Failed => "failed",
        Undoing => "undoing",
        Undone => "undone",
    }
);

impl ImportStatus {
    /// A job is working on the import: its mapping cannot change and no other job may start.
    pub fn is_busy(self) -> bool {
        matches!(self, Self::Queued | Self::Running | Self::Undoing)
    }
}

/// What an import does besides mapping columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportOptions {
    /// `skip` (default), `update` or `create`.
    #[serde(default = "default_policy")]
    pub duplicate_policy: DuplicatePolicy,
    /// Assign each new lead that names no owner by the company's assignment rules (default on:
    /// the rules, then the company's fallback owner, else the importing user); off, the
    /// default owner (else the importing user) owns it.
    #[serde(default = "yes")]
    pub assignment: bool,
    /// The owner of rows that give none.
    #[serde(default)]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub default_owner: Option<UserId>,
    /// Tags added to every imported record.
    #[serde(default)]
    pub tags: Vec<String>,
}

fn default_policy() -> DuplicatePolicy {
    DuplicatePolicy::Skip
}

fn yes() -> bool {
    true
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            duplicate_policy: DuplicatePolicy::Skip,
            assignment: true,
            default_owner: None,
            tags: Vec::new(),
        }
    }
}

impl ImportOptions {
    /// Tags trimmed, without empties and repeats; at most 20 of at most 50 characters.
    pub fn validate(mut self) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut tags: Vec<String> = Vec::new();
        for tag in self.tags.iter().map(|t| t.trim()) {
            if tag.is_empty() || tags.iter().any(|t| t == tag) {
                continue;
            }
            if tag.chars().count() > 50 {
                errors.add("options.tags", "each tag must be at most 50 characters");
            }
            tags.push(tag.to_owned());
        }
        if tags.len() > 20 {
            errors.add("options.tags", "must be at most 20 tags");
        }
        self.tags = tags;
        errors.into_result().map(|()| self)
    }
}

/// Why a file cannot be imported at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty")]
    Empty,
    #[error("the file has a header row but no data rows")]
    HeaderOnly,
    #[error("a quoted field that starts on line {line} is never closed (unbalanced quotes)")]
    UnbalancedQuote { line: u64 },
    #[error("line {line} has {found} columns but the header has {expected} (ragged rows)")]
    Ragged {
        line: u64,
        found: usize,
        expected: usize,
    },
    #[error("the file is neither UTF-8 nor Windows-1252 text (binary content near byte {offset})")]
    NotText { offset: usize },
    #[error("a cell on line {line} is longer than {MAX_CELL_CHARS} characters")]
    CellTooLong { line: u64 },
    #[error("the header has {found} columns; at most {MAX_COLUMNS} are read")]
    TooManyColumns { found: usize },
    #[error("the header row has an empty column name (column {column})")]
    EmptyHeader { column: usize },
    #[error("the file is not a readable XLSX workbook: {0}")]
    NotSpreadsheet(String),
    #[error("the file is not valid CSV on line {line}: {message}")]
    Csv { line: u64, message: String },
}

/// A file opened for import: what was detected, its header and its data rows.
#[derive(Debug, Clone)]
pub struct Sheet<'a> {
    pub format: FileFormat,
    /// `utf-8`, `utf-16le`, `utf-16be` or `windows-1252`; `None` for XLSX.
    pub encoding: Option<&'static str>,
    /// The CSV delimiter found; `None` for XLSX.
    pub delimiter: Option<char>,
    pub header: Vec<String>,
    /// Data rows (the header excluded).
    pub total_rows: usize,
    body: Body<'a>,
}

#[derive(Debug, Clone)]
enum Body<'a> {
    Text(Cow<'a, str>, u8),
    Cells(Vec<Row>),
}

/// A data row: its line in the file (1 is the header) and its cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub line: u64,
    pub cells: Vec<String>,
}

/// The kind of file `bytes` is: XLSX when its name says so or it is a zip archive, else CSV.
pub fn format_of(file_name: &str, bytes: &[u8]) -> FileFormat {
    let lower = file_name.to_ascii_lowercase();
    if lower.ends_with(".xlsx") || lower.ends_with(".xlsm") || bytes.starts_with(b"PK\x03\x04") {
        FileFormat::Xlsx
    } else {
        FileFormat::Csv
    }
}

/// Open `bytes` as `format`, checking the whole file.
pub fn open(bytes: &[u8], format: FileFormat) -> Result<Sheet<'_>, FileError> {
    match format {
        FileFormat::Csv => open_csv(bytes),
        FileFormat::Xlsx => open_xlsx(bytes),
    }
}

/// `bytes` as text: UTF-8 (a mark skipped), UTF-16 with a mark, else Windows-1252, whose few
/// undefined bytes and control characters mean the file is no text at all.
pub fn decode(bytes: &[u8]) -> Result<(Cow<'_, str>, &'static str), FileError> {
    if let Some((encoding, skip)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[skip..]);
        if had_errors {
            return Err(FileError::NotText { offset: skip });
        }
        let name = if encoding == encoding_rs::UTF_8 {
            "utf-8"
        } else if encoding == encoding_rs::UTF_16LE {
            "utf-16le"
        } else {
            "utf-16be"
        };
        return Ok((text, name));
    }
    let binary = |b: u8| matches!(b, 0..=8 | 0x0b | 0x0e..=0x1a | 0x1c..=0x1f | 0x7f);
    if let Some(offset) = bytes.iter().position(|&b| binary(b)) {
        return Err(FileError::NotText { offset });
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok((Cow::Borrowed(text), "utf-8"));
    }
    // Bytes Windows-1252 leaves undefined.
    if let Some(offset) = bytes
        .iter()
        .position(|b| matches!(b, 0x81 | 0x8d | 0x8f | 0x90 | 0x9d))
    {
        return Err(FileError::NotText { offset });
    }
    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
    Ok((text, "windows-1252"))
}

/// The delimiter of a CSV text: of `,` `;` tab and `|`, the one found most often outside quotes
/// in the first line (a comma when none is).
pub fn detect_delimiter(text: &str) -> u8 {
    let mut counts = [0usize; 4];
    let candidates = [b',', b';', b'\t', b'|'];
    let mut quoted = false;
    for &b in text.as_bytes() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            _ if !quoted => {
                if let Some(i) = candidates.iter().position(|&c| c == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let mut best = 0;
    for i in 1..4 {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    candidates[best]
}

/// The line on which a quoted field opens and never closes, if one does (RFC 4180 quoting: a
/// quote opens a field only at its start, `""` inside is a quote).
fn unclosed_quote(text: &str, delimiter: u8) -> Option<u64> {
    let bytes = text.as_bytes();
    let (mut line, mut opened) = (1u64, 0u64);
    let (mut quoted, mut field_start) = (false, true);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if quoted {
            if b == b'"' {
                if bytes.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    quoted = false;
                }
            } else if b == b'\n' {
                line += 1;
            }
        } else if b == b'"' && field_start {
            quoted = true;
            opened = line;
        } else if b == b'\n' {
            line += 1;
            field_start = true;
            i += 1;
            continue;
        }
        field_start = !quoted && (b == delimiter || b == b'\r');
        i += 1;
    }
    quoted.then_some(opened)
}

fn csv_reader(text: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
}

fn csv_error(e: &csv::Error) -> FileError {
    FileError::Csv {
        line: e.position().map_or(0, |p| p.line()),
        message: e.to_string(),
    }
}

fn check_header(header: &[String]) -> Result<(), FileError> {
    if header.len() > MAX_COLUMNS {
        return Err(FileError::TooManyColumns {
            found: header.len(),
        });
    }
    if header.len() > 1
        && let Some(i) = header.iter().position(|h| h.trim().is_empty())
    {
        return Err(FileError::EmptyHeader { column: i + 1 });
    }
    Ok(())
}

/// Check one data row's width and cells.
fn check_row(row: &Row, width: usize) -> Result<(), FileError> {
    if row.cells.len() != width {
        return Err(FileError::Ragged {
            line: row.line,
            found: row.cells.len(),
            expected: width,
        });
    }
    if row.cells.iter().any(|c| c.len() > MAX_CELL_CHARS) {
        return Err(FileError::CellTooLong { line: row.line });
    }
    Ok(())
}

fn open_csv(bytes: &[u8]) -> Result<Sheet<'_>, FileError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(FileError::Empty);
    }
    let (text, encoding) = decode(bytes)?;
    if text.trim().is_empty() {
        return Err(FileError::Empty);
    }
    let delimiter = detect_delimiter(&text);
    if let Some(line) = unclosed_quote(&text, delimiter) {
        return Err(FileError::UnbalancedQuote { line });
    }
    let mut records = csv_reader(&text, delimiter).into_records();
    let header: Vec<String> = match records.next() {
        Some(Ok(record)) => {
            if record.iter().any(|c| c.len() > MAX_CELL_CHARS) {
                return Err(FileError::CellTooLong { line: 1 });
            }
            record.iter().map(|c| c.trim().to_owned()).collect()
        }
        Some(Err(e)) => return Err(csv_error(&e)),
        None => return Err(FileError::Empty),
    };
    check_header(&header)?;
    let mut total = 0;
    for record in records {
        let record = record.map_err(|e| csv_error(&e))?;
        if is_blank(record.iter()) {
            continue;
        }
        let row = Row {
            line: record.position().map_or(0, |p| p.line()),
            cells: Vec::new(),
        };
        if record.len() != header.len() {
            return Err(FileError::Ragged {
                line: row.line,
                found: record.len(),
                expected: header.len(),
            });
        }
        if record.iter().any(|c| c.len() > MAX_CELL_CHARS) {
            return Err(FileError::CellTooLong { line: row.line });
        }
        total += 1;
    }
    if total == 0 {
        return Err(FileError::HeaderOnly);
    }
    Ok(Sheet {
        format: FileFormat::Csv,
        encoding: Some(encoding),
        delimiter: Some(char::from(delimiter)),
        header,
        total_rows: total,
        body: Body::Text(text, delimiter),
    })
}

fn is_blank<'c>(mut cells: impl Iterator<Item = &'c str>) -> bool {
    cells.all(|c| c.trim().is_empty())
}

/// An XLSX cell as text: numbers without a needless `.0`, dates as `YYYY-MM-DD` (with the time
/// when it has one, RFC 3339 in UTC), booleans as `true`/`false`.
fn cell_text(cell: &calamine::Data) -> String {
    use calamine::Data;
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(at) if at.time() == chrono::NaiveTime::MIN => at.date().to_string(),
            Some(at) => at
                .and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            None => dt.as_f64().to_string(),
        },
        Data::Error(e) => format!("#{e:?}"),
    }
}

fn open_xlsx(bytes: &[u8]) -> Result<Sheet<'_>, FileError> {
    use calamine::Reader;
    if bytes.is_empty() {
        return Err(FileError::Empty);
    }
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| FileError::NotSpreadsheet(e.to_string()))?;
    let range = match book.worksheet_range_at(0) {
        Some(Ok(range)) => range,
        Some(Err(e)) => return Err(FileError::NotSpreadsheet(e.to_string())),
        None => return Err(FileError::NotSpreadsheet("it has no worksheet".into())),
    };
    let start = range.start().map_or(0, |(row, _)| u64::from(row));
    let mut rows = range.rows().enumerate().map(|(i, cells)| Row {
        line: start + i as u64 + 1,
        cells: cells.iter().map(cell_text).collect(),
    });
    let header: Vec<String> = loop {
        match rows.next() {
            Some(row) if is_blank(row.cells.iter().map(String::as_str)) => continue,
            Some(row) => break row.cells.iter().map(|c| c.trim().to_owned()).collect(),
            None => return Err(FileError::Empty),
        }
    };
    // Trailing columns with no name and no value are the sheet's used range, not data.
    let mut header = header;
    while header.last().is_some_and(|h| h.is_empty()) {
        header.pop();
    }
    check_header(&header)?;
    let mut data = Vec::new();
    for mut row in rows {
        if is_blank(row.cells.iter().map(String::as_str)) {
            continue;
        }
        if row.cells[header.len().min(row.cells.len())..]
            .iter()
            .all(String::is_empty)
        {
            row.cells.truncate(header.len());
        }
        check_row(&row, header.len())?;
        data.push(row);
    }
    if data.is_empty() {
        return Err(FileError::HeaderOnly);
    }
    Ok(Sheet {
        format: FileFormat::Xlsx,
        encoding: None,
        delimiter: None,
        header,
        total_rows: data.len(),
        body: Body::Cells(data),
    })
}

impl Sheet<'_> {
    /// The data rows in order, from the `skip`-th on (a run that resumes).
    pub fn rows(&self, skip: usize) -> Box<dyn Iterator<Item = Row> + Send + '_> {
        match &self.body {
            Body::Cells(rows) => Box::new(rows.iter().skip(skip).cloned()),
            Body::Text(text, delimiter) => Box::new(csv_rows(text.as_bytes(), *delimiter, skip)),
        }
    }
}

/// The data rows of CSV text (UTF-8) read from `reader`, from the `skip`-th on: the header and
/// blank rows are passed over, as when the file was opened and checked. They end at the first
/// record that cannot be read (a file that was checked has none; a reader that fails does).
pub fn csv_rows<R: std::io::Read>(
    reader: R,
    delimiter: u8,
    skip: usize,
) -> impl Iterator<Item = Row> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(reader)
        .into_records()
        .skip(1)
        .map_while(Result::ok)
        .filter(|r| !is_blank(r.iter()))
        .skip(skip)
        .map(|r| Row {
            line: r.position().map_or(0, |p| p.line()),
            cells: r.iter().map(str::to_owned).collect(),
        })
}

/// A file kept in pieces, read as UTF-8 text: each piece decoded from the file's encoding as it
/// comes (a character split between two pieces included), so no more than a piece is held. A
/// piece that could not be read is an error of the reader, not the end of the text.
pub struct Decoded<I> {
    pieces: I,
    decoder: encoding_rs::Decoder,
    text: Vec<u8>,
    at: usize,
    ended: bool,
}

impl<I: Iterator<Item = std::io::Result<Vec<u8>>>> Decoded<I> {
    /// `pieces` in `encoding` (a label such as `utf-8`, `utf-16le` or `windows-1252`, as
    /// [`Sheet::encoding`] names it; an unknown one reads as UTF-8). A byte-order mark is
    /// skipped.
    pub fn new(encoding: &str, pieces: I) -> Self {
        let encoding =
            encoding_rs::Encoding::for_label(encoding.as_bytes()).unwrap_or(encoding_rs::UTF_8);
        Decoded {
            pieces,
            decoder: encoding.new_decoder(),
            text: Vec::new(),
            at: 0,
            ended: false,
        }
    }
}

impl<I: Iterator<Item = std::io::Result<Vec<u8>>>> std::io::Read for Decoded<I> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.text.len() {
            if self.ended {
                return Ok(0);
            }
            let piece = self.pieces.next().transpose()?;
            self.ended = piece.is_none();
            let piece = piece.unwrap_or_default();
            let room = self
                .decoder
                .max_utf8_buffer_length(piece.len())
                .ok_or_else(|| std::io::Error::other("a piece of the file is too large"))?;
            self.text.clear();
            self.text.resize(room, 0);
            let (_, _, written, _) =
                self.decoder
                    .decode_to_utf8(&piece, &mut self.text, self.ended);
            self.text.truncate(written);
            self.at = 0;
        }
        let n = out.len().min(self.text.len() - self.at);
        out[..n].copy_from_slice(&self.text[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A header as compared with field names: lower case, runs of anything but letters and digits
/// as one `_`.
pub fn normalized_header(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    for c in header.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

/// Common names of fields in other tools' exports (normalized), by field.
const SYNONYMS: &[(&str, &[&str])] = &[
    (
        "email",
        &["e_mail", "email_address", "e_mail_address", "mail"],
    ),
    (
        "first_name",
        &["firstname", "first", "given_name", "forename"],
    ),
    ("last_name", &["lastname", "last", "surname", "family_name"]),
    (
        "company_name",
        &["company", "organization", "organisation", "company_name"],
    ),
    (
        "phone",
        &[
            "telephone",
            "phone_number",
            "tel",
            "work_phone",
            "business_phone",
        ],
    ),
    (
        "mobile",
        &["mobile_phone", "cell", "cell_phone", "mobile_number"],
    ),
    ("website", &["web", "url", "web_site", "homepage", "site"]),
    ("title", &["job_title", "position"]),
    ("postal_code", &["zip", "zip_code", "postcode", "post_code"]),
    ("region", &["state", "province", "county"]),
    ("street", &["address", "street_address", "address_line_1"]),
    (
        "employee_count",
        &["employees", "headcount", "number_of_employees"],
    ),
    ("annual_revenue", &["revenue"]),
    ("name", &["account_name", "deal_name", "company"]),
    ("owner_id", &["owner"]),
    (
        "domain",
        &["website", "web_site", "web", "url", "domain_name"],
    ),
];

/// The field each column of `header` most likely means, among `fields` (a record's writable
/// fields) and `custom` (its custom fields as `(key, label)`, suggested as `cf.<key>`): the
/// field of the same normalized name, else a common synonym, else a custom field by key or
/// label. A field is suggested for one column at most.
pub fn suggest_mapping(
    header: &[String],
    fields: &[&str],
    custom: &[(String, String)],
) -> Vec<Option<String>> {
    let mut taken: Vec<String> = Vec::new();
    header
        .iter()
        .map(|h| {
            let name = normalized_header(h);
            let direct = fields.iter().find(|f| **f == name).map(|f| (*f).to_owned());
            let synonym = || {
                SYNONYMS
                    .iter()
                    .find(|(field, names)| fields.contains(field) && names.contains(&name.as_str()))
                    .map(|(field, _)| (*field).to_owned())
            };
            let custom = || {
                custom
                    .iter()
                    .find(|(key, label)| {
                        normalized_header(key) == name || normalized_header(label) == name
                    })
                    .map(|(key, _)| format!("cf.{key}"))
            };
            let found = direct
                .or_else(synonym)
                .or_else(custom)
                .filter(|f| !taken.contains(f));
            if let Some(f) = &found {
                taken.push(f.clone());
            }
            found
        })
        .collect()
}

/// How a field's value is written in JSON, as its input's schema says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Text,
    Integer,
    Number,
    Boolean,
    /// A list of texts (tags): a cell's items separated by `,` or `;`.
    List,
}

/// A cell's text as the JSON value of a field of `kind`; `None` for an empty cell. The message
/// says what the cell should have been.
pub fn cell_value(text: &str, kind: ValueKind) -> Result<Option<Value>, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    Ok(Some(match kind {
        ValueKind::Text => Value::from(text),
        ValueKind::Integer => {
            let digits: String = text.chars().filter(|c| *c != ',' && *c != ' ').collect();
            let digits = digits.strip_suffix(".0").unwrap_or(&digits);
            Value::from(
                digits
                    .parse::<i64>()
                    .map_err(|_| "must be a whole number")?,
            )
        }
        ValueKind::Number => {
            let n: f64 = text.parse().map_err(|_| "must be a number")?;
            serde_json::Number::from_f64(n)
                .map(Value::Number)
                .ok_or("must be a number")?
        }
        ValueKind::Boolean => match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" | "x" => Value::Bool(true),
            "false" | "no" | "n" | "0" => Value::Bool(false),
            _ => return Err("must be true or false"),
        },
        ValueKind::List => Value::from(
            text.split([',', ';'])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        ),
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rows(sheet: &Sheet<'_>) -> Vec<Vec<String>> {
        sheet.rows(0).map(|r| r.cells).collect()
    }

    #[test]
    fn a_semicolon_file_in_windows_1252_with_a_bom_free_header_is_read() {
        let bytes = b"Name;E-mail\r\nJos\xe9;jose@example.com\r\n";
        let sheet = open(bytes, FileFormat::Csv).unwrap();
        assert_eq!(sheet.encoding, Some("windows-1252"));
        assert_eq!(sheet.delimiter, Some(';'));
        assert_eq!(sheet.header, ["Name", "E-mail"]);
        assert_eq!(rows(&sheet), [["José", "jose@example.com"]]);
    }

    #[test]
    fn utf8_with_a_bom_and_tabs_is_read() {
        let bytes = "\u{feff}a\tb\n1\t\"x\ty\"\n\n2\t3\n".as_bytes();
        let sheet = open(bytes, FileFormat::Csv).unwrap();
        assert_eq!(sheet.encoding, Some("utf-8"));
        assert_eq!(sheet.delimiter, Some('\t'));
        assert_eq!(sheet.header, ["a", "b"]);
        assert_eq!(sheet.total_rows, 2);
        assert_eq!(rows(&sheet), [["1", "x\ty"], ["2", "3"]]);
        // Lines as the file numbers them: a quoted line break counts.
        let multi = open(b"a,b\n\"x\ny\",1\n2,3\n", FileFormat::Csv).unwrap();
        let lines: Vec<u64> = multi.rows(0).map(|r| r.line).collect();
        assert_eq!(lines, [2, 4]);
    }

    #[test]
    fn a_file_read_in_pieces_gives_the_rows_it_gives_whole() {
        let mut utf16 = vec![0xff, 0xfe];
        utf16.extend("a,b\nZoë,1\n".encode_utf16().flat_map(u16::to_le_bytes));
        let files: [&[u8]; 4] = [
            "\u{feff}name,city\n\"Łukasz\nX\",Kraków\n\n日本,東京\n".as_bytes(),
            b"Name;E-mail\r\nJos\xe9;jose@example.com\r\nRen\xe9e;r@example.com\r\n",
            &utf16,
            b"a\tb\n1\t2\n3\t4\n",
        ];
        for bytes in files {
            let sheet = open(bytes, FileFormat::Csv).unwrap();
            let delimiter = sheet.delimiter.map_or(b',', |d| d as u8);
            let encoding = sheet.encoding.unwrap();
            for skip in 0..2 {
                let whole: Vec<Row> = sheet.rows(skip).collect();
                // Every size of piece, so that each boundary falls inside a character once.
                for size in 1..=bytes.len() {
                    let pieces = bytes.chunks(size).map(|p| Ok(p.to_vec()));
                    let read: Vec<Row> =
                        csv_rows(Decoded::new(encoding, pieces), delimiter, skip).collect();
                    assert_eq!(
                        read, whole,
                        "{encoding}, pieces of {size} bytes, skip {skip}"
                    );
                }
            }
        }
        // A piece that cannot be read ends the rows before the row it cuts: never half a row.
        let broken = [
            Ok(b"a,b\n1,2\n3,".to_vec()),
            Err(std::io::Error::other("gone")),
            Ok(b"4\n".to_vec()),
        ];
        let read: Vec<Vec<String>> = csv_rows(Decoded::new("utf-8", broken.into_iter()), b',', 0)
            .map(|r| r.cells)
            .collect();
        assert_eq!(read, [["1", "2"]]);
    }

    #[test]
    fn bad_files_are_refused_with_their_reason() {
        let cases: &[(&[u8], FileError)] = &[
            (b"", FileError::Empty),
            (b"  \n", FileError::Empty),
            (b"a,b\n", FileError::HeaderOnly),
            (
                b"a,b\n1,\"open\n2,3\n",
                FileError::UnbalancedQuote { line: 2 },
            ),
            (
                b"a,b\n1,2\n1,2,3\n",
                FileError::Ragged {
                    line: 3,
                    found: 3,
                    expected: 2,
                },
            ),
            (b"a,b\n\x00\x01\x02", FileError::NotText { offset: 4 }),
            (b"a,b\n\x81x,y\n", FileError::NotText { offset: 4 }),
            (b"a,,b\n1,2,3\n", FileError::EmptyHeader { column: 2 }),
        ];
        for (bytes, expected) in cases {
            assert_eq!(
                open(bytes, FileFormat::Csv).err().as_ref(),
                Some(expected),
                "{bytes:?}"
            );
        }
        let mut huge = b"a\n".to_vec();
        huge.extend(std::iter::repeat_n(b'x', MAX_CELL_CHARS + 1));
        assert_eq!(
            open(&huge, FileFormat::Csv).err(),
            Some(FileError::CellTooLong { line: 2 })
        );
        assert!(matches!(
            open(b"PK\x03\x04 not really", FileFormat::Xlsx),
            Err(FileError::NotSpreadsheet(_))
        ));
    }

    #[test]
    fn a_quote_inside_an_unquoted_field_is_text() {
        let sheet = open(b"a,b\n5\" screen,2\n", FileFormat::Csv).unwrap();
        assert_eq!(rows(&sheet), [["5\" screen", "2"]]);
    }

    #[test]
    fn headers_are_mapped_by_name_synonym_and_custom_field() {
        let header: Vec<String> = ["E-mail", "First Name", "Company", "Shoe size", "Whatever"]
            .map(String::from)
            .to_vec();
        let mapping = suggest_mapping(
            &header,
            &["email", "first_name", "company_name"],
            &[("shoe".into(), "Shoe size".into())],
        );
        assert_eq!(
            mapping,
            [
                Some("email".to_owned()),
                Some("first_name".to_owned()),
                Some("company_name".to_owned()),
                Some("cf.shoe".to_owned()),
                None
            ]
        );
    }

    #[test]
    fn cells_become_the_values_their_fields_take() {
        assert_eq!(cell_value(" ", ValueKind::Integer), Ok(None));
        assert_eq!(
            cell_value("1,200", ValueKind::Integer),
            Ok(Some(Value::from(1200)))
        );
        assert_eq!(
            cell_value("12.0", ValueKind::Integer),
            Ok(Some(Value::from(12)))
        );
        assert!(cell_value("twelve", ValueKind::Integer).is_err());
        assert_eq!(
            cell_value("a, b;c", ValueKind::List),
            Ok(Some(serde_json::json!(["a", "b", "c"])))
        );
        assert_eq!(
            cell_value("Yes", ValueKind::Boolean),
            Ok(Some(Value::Bool(true)))
        );
    }
}
