//! Rows of one run that repeat a key. The reader remembers each key it has sent (a
//! 128-bit hash of the key's values and the row that gave it, 24 bytes a key, not the
//! key's text) and decides for every repeat as the connector's `on_duplicate` says;
//! each repeat is reported, naming both rows and the key.

use abe_schema::{OnDuplicate, Reject, SourcePosition, TargetRow, Value};
use siphasher::sip128::{Hasher128, SipHasher13};
use std::collections::HashMap;
use std::hash::Hasher;

/// Every remark about a repeated key ends with the choice made, after this mark: the
/// next run looks for it to track keys from the start.
pub(crate) const REPEAT_MARK: &str = "(on_duplicate = ";

/// Longest key text a remark holds; longer keys are cut, so that the remark's value and
/// reason stay readable and alike.
const MAX_KEY_CHARS: usize = 100;

/// What to do with a row the reader is about to send.
pub(crate) enum Verdict {
    /// Its key is new: send it.
    Send,
    /// Its key repeats; send it (the load keeps the last or adds the values up) and
    /// warn.
    SendAndWarn(Reject),
    /// Its key repeats; leave it out (`first`) and warn.
    LeaveOut(Reject),
    /// Its key repeats and repeats are refused: the row is a reject.
    Refuse(Reject),
}

/// Where a key was first seen: the run's source number and the row there.
#[derive(Clone, Copy)]
struct FirstRow {
    source: u32,
    row: u64,
}

/// Bits of a packed [`FirstRow`] that hold the row: 2^44 rows (17 trillion) a file,
/// 2^20 files a run.
const ROW_BITS: u32 = 44;

impl FirstRow {
    /// Packed into 8 bytes: the map holds one per key of a national file.
    fn pack(self) -> u64 {
        (u64::from(self.source.min((1 << (64 - ROW_BITS)) - 1)) << ROW_BITS)
            | self.row.min((1 << ROW_BITS) - 1)
    }

    fn unpack(packed: u64) -> Self {
        FirstRow {
            source: (packed >> ROW_BITS) as u32,
            row: packed & ((1 << ROW_BITS) - 1),
        }
    }
}

/// A refused key: one of its rows (to find the key in the load) and where it was first.
pub(crate) struct RefusedKey<R> {
    /// A row with the key.
    pub(crate) row: R,
    first: FirstRow,
    key: String,
    repeated_at: SourcePosition,
}

/// The keys a run has sent so far.
pub(crate) struct DuplicateKeys<R> {
    on_duplicate: OnDuplicate,
    seen: HashMap<u128, u64>,
    /// The file (and sheet) of each source number, as the reader met them.
    sources: Vec<(String, Option<String>)>,
    refused: Vec<RefusedKey<R>>,
    refused_index: HashMap<u128, usize>,
    /// Rows merged into an earlier one or left out (not refused).
    pub(crate) merged: u64,
}

impl<R: TargetRow> DuplicateKeys<R> {
    pub(crate) fn new(on_duplicate: OnDuplicate) -> Self {
        DuplicateKeys {
            on_duplicate,
            seen: HashMap::new(),
            sources: Vec::new(),
            refused: Vec::new(),
            refused_index: HashMap::new(),
            merged: 0,
        }
    }

    /// Decides for `row`, read at `position` from the run's source number `source`.
    pub(crate) fn check(&mut self, row: &R, position: &SourcePosition, source: i64) -> Verdict
    where
        R: Clone,
    {
        let source = u32::try_from(source).unwrap_or(u32::MAX);
        // Source numbers count the files and sheets of one run: a few, in order.
        if let Some(index) = Some(source as usize).filter(|i| *i <= self.sources.len()) {
            if index == self.sources.len() {
                self.sources
                    .push((position.file.clone(), position.sheet.clone()));
            }
        }
        let hash = key_hash(row);
        let here = FirstRow {
            source,
            row: position.row.unwrap_or(0),
        };
        let first = match self.seen.get(&hash) {
            None => {
                self.seen.insert(hash, here.pack());
                return Verdict::Send;
            }
            Some(first) => FirstRow::unpack(*first),
        };
        let key = key_text(row);
        let earlier = self.describe(first, position);
        let policy = self.on_duplicate.as_str();
        let remark = |what: &str| {
            Reject::new(
                position.clone(),
                Some(&key),
                format!("key {key} repeats {earlier}; {what} {REPEAT_MARK}\"{policy}\")"),
            )
        };
        match self.on_duplicate {
            OnDuplicate::Last => {
                self.merged += 1;
                Verdict::SendAndWarn(remark("this later row was loaded"))
            }
            OnDuplicate::Sum => {
                self.merged += 1;
                Verdict::SendAndWarn(remark("the values were added up"))
            }
            OnDuplicate::First => {
                self.merged += 1;
                Verdict::LeaveOut(remark("the first row was kept and this one left out"))
            }
            OnDuplicate::Reject => {
                if !self.refused_index.contains_key(&hash) {
                    self.refused_index.insert(hash, self.refused.len());
                    self.refused.push(RefusedKey {
                        row: row.clone(),
                        first,
                        key: key.clone(),
                        repeated_at: position.clone(),
                    });
                }
                Verdict::Refuse(remark("every row of a repeated key is refused"))
            }
        }
    }

    /// The keys refused, each with the reject for its first row (which was sent before
    /// the key repeated, and which the load must now remove).
    pub(crate) fn into_refused(self) -> (Vec<R>, Vec<Reject>) {
        let mut rows = Vec::with_capacity(self.refused.len());
        let mut rejects = Vec::with_capacity(self.refused.len());
        for refused in self.refused {
            let (file, sheet) = self
                .sources
                .get(refused.first.source as usize)
                .cloned()
                .unwrap_or_default();
            let position = SourcePosition {
                file,
                sheet,
                row: Some(refused.first.row).filter(|r| *r > 0),
                column: None,
            };
            let later = match refused.repeated_at.row {
                Some(row) if refused.repeated_at.file == position.file => format!("row {row}"),
                _ => refused.repeated_at.to_string(),
            };
            rejects.push(Reject::new(
                position,
                Some(&refused.key),
                format!(
                    "key {} repeats at {later}; every row of a repeated key is refused \
                     {REPEAT_MARK}\"reject\")",
                    refused.key
                ),
            ));
            rows.push(refused.row);
        }
        (rows, rejects)
    }

    /// "row 12" when the first row is in the file of `position`, else its full place.
    fn describe(&self, first: FirstRow, position: &SourcePosition) -> String {
        let (file, sheet) = self
            .sources
            .get(first.source as usize)
            .cloned()
            .unwrap_or_default();
        if file == position.file && sheet == position.sheet {
            format!("row {}", first.row)
        } else {
            SourcePosition::at_row(file, first.row).to_string()
        }
    }
}

/// A 128-bit hash of the row's key values: a collision between two different keys of
/// one run is about as likely as two random 128-bit numbers meeting.
fn key_hash<R: TargetRow>(row: &R) -> u128 {
    let mut hasher = SipHasher13::new();
    for (i, column) in R::DESC.columns.iter().enumerate() {
        if !column.key {
            continue;
        }
        match row.value(i) {
            Value::Text(Some(text)) => {
                hasher.write_u8(1);
                hasher.write_usize(text.len());
                hasher.write(text.as_bytes());
            }
            Value::Real(Some(number)) => {
                hasher.write_u8(2);
                hasher.write_u64(number.to_bits());
            }
            Value::Text(None) | Value::Real(None) => hasher.write_u8(0),
        }
    }
    hasher.finish128().into()
}

/// The key as a person reads it: `code=1234`, or `indicator=dropouts, area=9501,
/// period=2023` (blank parts left out).
pub(crate) fn key_text<R: TargetRow>(row: &R) -> String {
    let text = R::DESC
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.key)
        .filter_map(|(i, c)| {
            let text = row.value(i).to_text();
            (!text.is_empty()).then(|| format!("{}={text}", c.label()))
        })
        .collect::<Vec<_>>()
        .join(", ");
    if text.chars().count() <= MAX_KEY_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_KEY_CHARS).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use abe_schema::{AreaLevel, AreaRow};

    fn area(code: &str, name: &str) -> AreaRow {
        AreaRow {
            code: code.into(),
            level: AreaLevel::Province,
            parent_code: None,
            name_th: name.into(),
            name_en: None,
        }
    }

    fn at(row: u64) -> SourcePosition {
        SourcePosition::at_row("areas.csv", row)
    }

    #[test]
    fn a_repeat_names_both_rows_and_the_key_under_every_choice() {
        for (choice, expected) in [
            (OnDuplicate::Last, "this later row was loaded"),
            (OnDuplicate::First, "the first row was kept"),
            (OnDuplicate::Sum, "the values were added up"),
            (
                OnDuplicate::Reject,
                "every row of a repeated key is refused",
            ),
        ] {
            let mut keys = DuplicateKeys::new(choice);
            assert!(matches!(
                keys.check(&area("95", "ยะลา"), &at(2), 0),
                Verdict::Send
            ));
            assert!(matches!(
                keys.check(&area("96", "นราธิวาส"), &at(3), 0),
                Verdict::Send
            ));
            let remark = match keys.check(&area("95", "ยะลา ๒"), &at(7), 0) {
                Verdict::SendAndWarn(r) | Verdict::LeaveOut(r) | Verdict::Refuse(r) => r,
                Verdict::Send => panic!("{choice}: a repeat was sent silently"),
            };
            assert_eq!(remark.position.row, Some(7));
            assert!(
                remark.reason.contains("key code=95 repeats row 2"),
                "{}",
                remark.reason
            );
            assert!(remark.reason.contains(expected), "{}", remark.reason);
            let (rows, rejects) = keys.into_refused();
            if choice == OnDuplicate::Reject {
                assert_eq!(rows.len(), 1);
                assert_eq!(
                    rejects[0].position.row,
                    Some(2),
                    "the first row is refused too"
                );
                assert!(rejects[0].reason.contains("repeats at row 7"));
            } else {
                assert!(rows.is_empty());
            }
        }
    }

    #[test]
    fn a_repeat_in_another_file_names_that_file() {
        let mut keys = DuplicateKeys::new(OnDuplicate::Last);
        keys.check(&area("95", "ยะลา"), &at(2), 0);
        let other = SourcePosition::at_row("more.csv", 4);
        match keys.check(&area("95", "ยะลา"), &other, 1) {
            Verdict::SendAndWarn(r) => {
                assert!(r.reason.contains("areas.csv, row 2"), "{}", r.reason)
            }
            _ => panic!("a repeat is sent and warned of"),
        }
        assert_eq!(keys.merged, 1);
    }
}
