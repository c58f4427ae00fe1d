//! Rows read by position, for the records a list page returns by the fifty.
//!
//! sea-orm's derived `FromQueryResult` finds every column by name and, for each NULL, formats
//! the column's name into an error it then throws away: on a page of fifty leads (45 columns,
//! half of them usually empty) that was a tenth of the request. A [`table_row!`] struct instead
//! names its columns once — the struct's fields, in order — selects exactly those, and reads
//! them back by position with sqlx's own decoders (the ones sea-orm calls), so the order of the
//! `SELECT` and of the reads cannot drift apart.

use sea_orm::{DbErr, QueryResult};
use sqlx::{Decode, Postgres, Row, Sqlite, Type};

/// A value one column holds, decoded the same way on both databases.
pub(crate) trait Column: Sized {
    fn read(row: &QueryResult, index: usize) -> Result<Self, DbErr>;
}

impl<T> Column for T
where
    T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>,
{
    fn read(row: &QueryResult, index: usize) -> Result<Self, DbErr> {
        let decoded = if let Some(row) = row.try_as_sqlite_row() {
            row.try_get::<T, usize>(index)
        } else if let Some(row) = row.try_as_pg_row() {
            row.try_get::<T, usize>(index)
        } else {
            return Err(DbErr::Type("a row of neither SQLite nor PostgreSQL".into()));
        };
        decoded.map_err(|e| DbErr::Type(format!("column {index}: {e}")))
    }
}

/// Reads a row's columns one after another.
pub(crate) struct Columns<'r> {
    row: &'r QueryResult,
    next: usize,
}

impl<'r> Columns<'r> {
    pub(crate) fn new(row: &'r QueryResult) -> Self {
        Self { row, next: 0 }
    }

    /// The next column's value, or the next columns' struct.
    pub(crate) fn read<T: FromColumns>(&mut self) -> Result<T, DbErr> {
        T::from_columns(self)
    }
}

/// What [`Columns::read`] reads: one column's value, or a [`table_row!`] struct's columns.
pub(crate) trait FromColumns: Sized {
    fn from_columns(columns: &mut Columns<'_>) -> Result<Self, DbErr>;
}

impl<T: Column> FromColumns for T {
    fn from_columns(columns: &mut Columns<'_>) -> Result<Self, DbErr> {
        let index = columns.next;
        columns.next += 1;
        T::read(columns.row, index)
    }
}

/// A row of one table: its columns, table-qualified, in the order they are read.
pub trait TableColumns {
    /// The struct's fields, in order (an API record's, where the record is its row).
    const FIELD_NAMES: &'static [&'static str];

    fn table_columns() -> Vec<sea_orm::sea_query::ColumnRef>;
}

/// A struct read by position.
///
/// `struct Name in Table { field: Type, … }` is one table's columns: the fields are the column
/// names, `Name::columns()` selects them, table-qualified, in order. `struct Name { … }` is
/// whatever its query selects, in the fields' order — a field may itself be such a struct
/// (a joined row: an activity's columns, then one link's). Either reads as a
/// `FromQueryResult`.
///
/// A field may read another column (`amount: Option<String> = amount_micros`) and convert
/// what it reads (`=> f`, a function of the column's value): so a record's API struct is its
/// row, declared once (`tags: Vec<String> => record::tags_of`).
macro_rules! table_row {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident in $table:path {
            $(
                $(#[$fmeta:meta])*
                $fvis:vis $field:ident: $ty:ty $(= $column:ident)? $(=> $conv:expr)?
            ),+ $(,)?
        }
    ) => {
        $crate::row::table_row! {
            $(#[$meta])*
            $vis struct $name {
                $($(#[$fmeta])* $fvis $field: $ty $(=> $conv)?),+
            }
        }

        impl $name {
            /// The struct's columns, table-qualified, in the order its fields are read.
            pub(crate) fn columns() -> impl Iterator<Item = sea_orm::sea_query::ColumnRef> {
                use sea_orm::sea_query::IntoColumnRef;
                [$($crate::row::column_name!($field $(, $column)?)),+]
                    .into_iter()
                    .map(|column| ($table, column).into_column_ref())
            }
        }

        impl $crate::row::TableColumns for $name {
            const FIELD_NAMES: &'static [&'static str] = &[$(stringify!($field)),+];

            fn table_columns() -> Vec<sea_orm::sea_query::ColumnRef> {
                Self::columns().collect()
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$fmeta:meta])* $fvis:vis $field:ident: $ty:ty $(=> $conv:expr)?),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $($(#[$fmeta])* $fvis $field: $ty),+
        }

        impl $crate::row::FromColumns for $name {
            fn from_columns(
                columns: &mut $crate::row::Columns<'_>,
            ) -> std::result::Result<Self, sea_orm::DbErr> {
                Ok(Self {
                    $($field: $crate::row::read_column!(columns $(, $conv)?)),+
                })
            }
        }

        impl sea_orm::FromQueryResult for $name {
            fn from_query_result(
                row: &sea_orm::QueryResult,
                _prefix: &str,
            ) -> std::result::Result<Self, sea_orm::DbErr> {
                $crate::row::Columns::new(row).read()
            }
        }
    };
}

/// A field's column: the field's name, or the one it names after `=`.
macro_rules! column_name {
    ($field:ident) => {
        stringify!($field)
    };
    ($field:ident, $column:ident) => {
        stringify!($column)
    };
}

/// A field's value: the column's, or what the function after `=>` makes of it.
macro_rules! read_column {
    ($columns:ident) => {
        $columns.read()?
    };
    ($columns:ident, $conv:expr) => {
        ($conv)($columns.read()?)
    };
}

pub(crate) use column_name;
pub(crate) use read_column;
pub(crate) use table_row;
