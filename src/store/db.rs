//! The store's one database interface over two engines: SQLite (`rusqlite`, the embedded
//! default) and PostgreSQL (the synchronous `postgres` client). Every query in `src/store/`
//! is written once, in the SQL both engines read, and goes through [`Conn`]; this file is the
//! only place that knows which engine is underneath.
//!
//! The shape mirrors rusqlite's (`execute`, `query_row`, `query_map`, `transaction`) so the
//! queries read as before. Values cross as [`Value`] — the five SQLite storage classes — and
//! are converted to the type PostgreSQL inferred for each parameter and column, so an integer
//! flag binds to a `BOOLEAN` expression and a `BIGINT` column alike.
//!
//! The portable dialect, kept by every query here:
//! - parameters are numbered `?1`, `?2`… (turned into `$1`, `$2`… for PostgreSQL);
//! - flags are `BIGINT`/`INTEGER` 0/1 compared with `= 0` / `<> 0`, never bare conditions;
//! - `INSERT … ON CONFLICT … DO NOTHING | DO UPDATE`, never `INSERT OR …`;
//! - new ids come back with `RETURNING id`, aggregates over integers are `CAST(… AS BIGINT)`;
//! - the column `user` is written `"user"`.
//!
//! PostgreSQL runs on blocking threads like SQLite: the `postgres` client keeps its own small
//! runtime, and [`Store::call`](super::Store::call) already moves every query off the async
//! workers.

use std::cell::RefCell;
use std::collections::HashMap;

use postgres::types::{FromSql, IsNull, ToSql, Type};

/// A value as the store reads and writes it: SQLite's storage classes.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// What can go wrong in a query.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{}", postgres_message(.0))]
    Postgres(#[from] postgres::Error),
    #[error("the query returned no rows")]
    NoRows,
    #[error("the connection to PostgreSQL was lost in the middle of a transaction; it was rolled back and the next call reconnects")]
    Lost,
    #[error("column {index} holds {found}, not {wanted}")]
    Type {
        index: usize,
        found: &'static str,
        wanted: &'static str,
    },
    #[error("column {index} is out of range ({len} columns)")]
    Column { index: usize, len: usize },
}

/// A PostgreSQL error with the server's own message and detail when it sent one.
fn postgres_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => e.to_string(),
    }
}

pub type Result<T> = std::result::Result<T, DbError>;

/// `query_row(...).optional()`: no row is `None`, not an error.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(DbError::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Builds a parameter list from borrowed values: `args![id, name, Some(3)]`.
#[macro_export]
macro_rules! args {
    () => { &[] as &[$crate::store::db::Value] };
    ($($v:expr),+ $(,)?) => {
        &[$($crate::store::db::ToValue::to_value(&$v)),+] as &[$crate::store::db::Value]
    };
}
pub use crate::args;

// ---- values in ------------------------------------------------------------------------------

/// A Rust value a query parameter can be made from.
pub trait ToValue {
    fn to_value(&self) -> Value;
}

macro_rules! int_to_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            /// (Past `i64::MAX`, which no count or id here reaches, it saturates.)
            fn to_value(&self) -> Value {
                Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
    )*};
}
int_to_value!(i64, i32, i16, u8, u16, u32, u64, usize);

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}
impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
}
impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
}
impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}
impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Blob(self.clone())
    }
}
impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}
impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

// ---- values out -----------------------------------------------------------------------------

/// A type a column can be read as.
pub trait FromValue: Sized {
    fn from_value(v: &Value, index: usize) -> Result<Self>;
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "NULL",
        Value::Int(_) => "an integer",
        Value::Real(_) => "a real",
        Value::Text(_) => "text",
        Value::Blob(_) => "a blob",
    }
}

fn wrong<T>(v: &Value, index: usize, wanted: &'static str) -> Result<T> {
    Err(DbError::Type {
        index,
        found: kind(v),
        wanted,
    })
}

macro_rules! int_out {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: &Value, index: usize) -> Result<$t> {
                match v {
                    Value::Int(n) => <$t>::try_from(*n).or_else(|_| wrong(v, index, stringify!($t))),
                    _ => wrong(v, index, stringify!($t)),
                }
            }
        }
    )*};
}
int_out!(i64, i32, u32, u64, usize, u16, u8);

impl FromValue for bool {
    fn from_value(v: &Value, index: usize) -> Result<bool> {
        match v {
            Value::Int(n) => Ok(*n != 0),
            _ => wrong(v, index, "a flag"),
        }
    }
}
impl FromValue for f64 {
    fn from_value(v: &Value, index: usize) -> Result<f64> {
        match v {
            Value::Real(x) => Ok(*x),
            Value::Int(n) => Ok(*n as f64),
            _ => wrong(v, index, "a number"),
        }
    }
}
impl FromValue for String {
    fn from_value(v: &Value, index: usize) -> Result<String> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            _ => wrong(v, index, "text"),
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(v: &Value, index: usize) -> Result<Vec<u8>> {
        match v {
            Value::Blob(b) => Ok(b.clone()),
            Value::Text(s) => Ok(s.as_bytes().to_vec()),
            _ => wrong(v, index, "a blob"),
        }
    }
}
impl FromValue for Value {
    fn from_value(v: &Value, _: usize) -> Result<Value> {
        Ok(v.clone())
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value, index: usize) -> Result<Option<T>> {
        match v {
            Value::Null => Ok(None),
            _ => T::from_value(v, index).map(Some),
        }
    }
}

/// One result row.
#[derive(Debug, Clone)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    /// Column `index` (from 0) as `T`.
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T> {
        match self.values.get(index) {
            Some(v) => T::from_value(v, index),
            None => Err(DbError::Column {
                index,
                len: self.values.len(),
            }),
        }
    }

    /// Column `index` as borrowed text (`None` for NULL), without a copy.
    pub fn text(&self, index: usize) -> Result<Option<&str>> {
        match self.values.get(index) {
            Some(Value::Text(s)) => Ok(Some(s)),
            Some(Value::Null) => Ok(None),
            Some(v) => wrong(v, index, "text"),
            None => Err(DbError::Column {
                index,
                len: self.values.len(),
            }),
        }
    }

    /// The row's values, in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The row's values, in column order.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }
}

// ---- the engines ------------------------------------------------------------------------------

/// Which engine a [`Conn`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A connection to either engine. Used from one thread at a time (the store keeps each
/// behind a mutex); `&Conn` is enough to query and to open a transaction.
pub struct Conn {
    inner: Inner,
}

enum Inner {
    Sqlite(rusqlite::Connection),
    Postgres(Box<RefCell<Pg>>),
}

/// A PostgreSQL client with its prepared statements and the URL to reconnect with.
struct Pg {
    client: Option<postgres::Client>,
    url: String,
    statements: HashMap<String, postgres::Statement>,
    /// `BEGIN` was sent and neither `COMMIT` nor `ROLLBACK` yet.
    in_transaction: bool,
}

impl Drop for Pg {
    /// The client says goodbye to the server on drop, on its own small runtime, which may
    /// not start on an async worker (the last `Store` can be dropped there): it closes on a
    /// thread of its own then.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::Builder::new()
                    .name("postgres-close".into())
                    .spawn(move || drop(client));
            }
        }
    }
}

/// Prepared statements kept per PostgreSQL connection; past this the cache starts again
/// (queries built at run time, such as `IN (…)` lists, must not grow it without end).
const PG_STATEMENT_CACHE: usize = 256;

impl Conn {
    pub fn sqlite(conn: rusqlite::Connection) -> Conn {
        Conn {
            inner: Inner::Sqlite(conn),
        }
    }

    /// Connects to the PostgreSQL server at `url` (`postgres://user@host:port/db`).
    pub fn postgres(url: &str) -> Result<Conn> {
        let client = pg_connect(url)?;
        Ok(Conn {
            inner: Inner::Postgres(Box::new(RefCell::new(Pg {
                client: Some(client),
                url: url.to_string(),
                statements: HashMap::new(),
                in_transaction: false,
            }))),
        })
    }

    pub fn engine(&self) -> Engine {
        match self.inner {
            Inner::Sqlite(_) => Engine::Sqlite,
            Inner::Postgres(_) => Engine::Postgres,
        }
    }

    /// Runs one statement; returns the rows it changed.
    pub fn execute(&self, sql: &str, params: &[Value]) -> Result<usize> {
        match &self.inner {
            Inner::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                Ok(stmt.execute(rusqlite::params_from_iter(params.iter()))?)
            }
            Inner::Postgres(pg) => {
                let mut pg = pg.borrow_mut();
                let n = pg.run(sql, params, |client, stmt, params| {
                    client.execute(stmt, params)
                })?;
                Ok(n as usize)
            }
        }
    }

    /// Runs several statements with no parameters (migrations).
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Inner::Postgres(pg) => {
                let mut pg = pg.borrow_mut();
                let client = pg.client()?;
                client.batch_execute(sql).map_err(DbError::from)
            }
        }
    }

    /// Every row of a query, each mapped by `f`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: &[Value],
        mut f: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.for_each_row(sql, params, |r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Calls `f` on each row in turn without collecting them (a large scan, such as loading
    /// every subscription, keeps one row at a time on SQLite).
    pub fn for_each_row(
        &self,
        sql: &str,
        params: &[Value],
        mut f: impl FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        match &self.inner {
            Inner::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let width = stmt.column_count();
                let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
                while let Some(r) = rows.next()? {
                    f(&sqlite_row(r, width)?)?;
                }
                Ok(())
            }
            Inner::Postgres(_) => {
                for row in self.pg_rows(sql, params)? {
                    f(&row)?;
                }
                Ok(())
            }
        }
    }

    /// The first row of a query mapped by `f`; [`DbError::NoRows`] when there is none.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: &[Value],
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<T> {
        match &self.inner {
            Inner::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let width = stmt.column_count();
                let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
                match rows.next()? {
                    Some(r) => f(&sqlite_row(r, width)?),
                    None => Err(DbError::NoRows),
                }
            }
            Inner::Postgres(_) => match self.pg_rows(sql, params)?.first() {
                Some(row) => f(row),
                None => Err(DbError::NoRows),
            },
        }
    }

    fn pg_rows(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let Inner::Postgres(pg) = &self.inner else {
            unreachable!("pg_rows on SQLite")
        };
        let mut pg = pg.borrow_mut();
        let rows = pg.run(sql, params, |client, stmt, params| {
            client.query(stmt, params)
        })?;
        rows.iter()
            .map(|r| {
                let values = (0..r.len())
                    .map(|i| r.try_get::<_, Value>(i))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                Ok(Row { values })
            })
            .collect()
    }

    /// Starts a transaction (deferred on SQLite); it rolls back when dropped uncommitted.
    pub fn transaction(&self) -> Result<Tx<'_>> {
        self.begin("BEGIN DEFERRED")
    }

    /// Starts a transaction that takes the write lock at once (SQLite `BEGIN IMMEDIATE`), so
    /// a read-then-write never fails half-way on a busy database.
    pub fn transaction_immediate(&self) -> Result<Tx<'_>> {
        self.begin("BEGIN IMMEDIATE")
    }

    fn begin(&self, sqlite: &str) -> Result<Tx<'_>> {
        match &self.inner {
            Inner::Sqlite(c) => c.execute_batch(sqlite)?,
            Inner::Postgres(pg) => {
                let mut pg = pg.borrow_mut();
                pg.client()?.batch_execute("BEGIN")?;
                pg.in_transaction = true;
            }
        }
        Ok(Tx {
            conn: self,
            done: false,
        })
    }

    fn end(&self, commit: bool) -> Result<()> {
        let sql = if commit { "COMMIT" } else { "ROLLBACK" };
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Inner::Postgres(pg) => {
                let mut pg = pg.borrow_mut();
                pg.in_transaction = false;
                let result = pg.client()?.batch_execute(sql);
                if result.is_err() {
                    pg.drop_if_closed();
                }
                Ok(result?)
            }
        }
    }
}

impl Conn {
    /// A statement to run several times (`stmt.execute(args![…])` in a loop). Both engines
    /// keep it prepared in the connection's cache, so this is only a name for the SQL.
    pub fn prepare_cached(&self, sql: &str) -> Result<Stmt<'_>> {
        Ok(Stmt {
            conn: self,
            sql: sql.to_string(),
        })
    }

    /// [`Conn::prepare_cached`]: every statement is cached.
    pub fn prepare(&self, sql: &str) -> Result<Stmt<'_>> {
        self.prepare_cached(sql)
    }
}

/// A prepared statement: [`Conn::prepare_cached`].
pub struct Stmt<'c> {
    conn: &'c Conn,
    sql: String,
}

impl Stmt<'_> {
    pub fn execute(&mut self, params: &[Value]) -> Result<usize> {
        self.conn.execute(&self.sql, params)
    }

    pub fn query_row<T>(
        &mut self,
        params: &[Value],
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<T> {
        self.conn.query_row(&self.sql, params, f)
    }

    /// Whether the query returns a row.
    pub fn exists(&mut self, params: &[Value]) -> Result<bool> {
        self.conn
            .query_row(&self.sql, params, |_| Ok(()))
            .optional()
            .map(|r| r.is_some())
    }

    /// Every row mapped by `f`, as an iterator of results (collect it).
    pub fn query_map<T>(
        &mut self,
        params: &[Value],
        f: impl FnMut(&Row) -> Result<T>,
    ) -> Result<std::vec::IntoIter<Result<T>>> {
        let rows = self.conn.query_map(&self.sql, params, f)?;
        Ok(rows.into_iter().map(Ok).collect::<Vec<_>>().into_iter())
    }
}

/// A transaction on a [`Conn`]: use it as the connection (it derefs to one), then
/// [`Tx::commit`]. Dropped without committing, it rolls back.
pub struct Tx<'c> {
    conn: &'c Conn,
    done: bool,
}

impl Tx<'_> {
    pub fn commit(mut self) -> Result<()> {
        self.done = true;
        self.conn.end(true)
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.conn.end(false);
        }
    }
}

fn sqlite_row(r: &rusqlite::Row<'_>, width: usize) -> Result<Row> {
    use rusqlite::types::ValueRef;
    let mut values = Vec::with_capacity(width);
    for i in 0..width {
        values.push(match r.get_ref(i)? {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(n) => Value::Int(n),
            ValueRef::Real(x) => Value::Real(x),
            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        });
    }
    Ok(Row { values })
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(n) => ValueRef::Integer(*n),
            Value::Real(x) => ValueRef::Real(*x),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

// ---- PostgreSQL ---------------------------------------------------------------------------------

fn pg_connect(url: &str) -> Result<postgres::Client> {
    let config: postgres::Config = url.parse()?;
    let mut config = config;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(std::time::Duration::from_secs(10));
    }
    config.application_name("newshound");
    Ok(config.connect(postgres::NoTls)?)
}

impl Pg {
    /// The live client, reconnecting first when the last one was lost (never inside a
    /// transaction: that transaction is gone with its connection, and must fail).
    fn client(&mut self) -> Result<&mut postgres::Client> {
        if self.client.as_ref().is_none_or(postgres::Client::is_closed) {
            if self.in_transaction {
                self.client = None;
                self.in_transaction = false;
                return Err(DbError::Lost);
            }
            self.statements.clear();
            self.client = Some(pg_connect(&self.url)?);
        }
        Ok(self.client.as_mut().expect("connected above"))
    }

    /// Forgets the client when its connection is gone, so the next call reconnects.
    fn drop_if_closed(&mut self) {
        if self
            .client
            .as_ref()
            .is_some_and(postgres::Client::is_closed)
        {
            self.client = None;
            self.statements.clear();
        }
    }

    /// Prepares `sql` (cached), binds `params` to the types the server inferred, and runs
    /// `op`. A lost connection is dropped so the next call reconnects.
    fn run<R>(
        &mut self,
        sql: &str,
        params: &[Value],
        op: impl FnOnce(
            &mut postgres::Client,
            &postgres::Statement,
            &[&(dyn ToSql + Sync)],
        ) -> std::result::Result<R, postgres::Error>,
    ) -> Result<R> {
        let result = self.statement(sql, params).and_then(|stmt| {
            let refs: Vec<&(dyn ToSql + Sync)> =
                params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            let client = self.client.as_mut().expect("connected by statement()");
            Ok(op(client, &stmt, &refs)?)
        });
        if let Err(DbError::Postgres(e)) = &result {
            let ended = e.is_closed() || e.code().is_some_and(|c| c.code().starts_with("57"));
            if ended {
                self.client = None;
                self.statements.clear();
                self.in_transaction = false;
            }
        }
        result
    }

    /// `sql` prepared on the live client (connecting first if needed), from the cache when
    /// it was prepared before.
    fn statement(&mut self, sql: &str, params: &[Value]) -> Result<postgres::Statement> {
        self.client()?;
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        // A parameter only compared with another one or NULL (`?2 IS NULL`, `CASE … THEN ?1`)
        // has no type the server can infer: such a statement is prepared with the types of
        // the values bound (NULL as text, the type of every nullable parameter here) and kept
        // under those types, so the untyped attempt fails once per connection, not per call.
        let types: Vec<Type> = params.iter().map(value_type).collect();
        let typed_key = format!("{sql}\u{0}{types:?}");
        if let Some(s) = self.statements.get(&typed_key) {
            return Ok(s.clone());
        }
        let translated = to_postgres(sql);
        let client = self.client.as_mut().expect("connected above");
        let (stmt, key) = match client.prepare(&translated) {
            Ok(stmt) => (stmt, sql.to_string()),
            Err(e) if is_untyped_parameter(&e) => {
                (client.prepare_typed(&translated, &types)?, typed_key)
            }
            Err(e) => return Err(e.into()),
        };
        if self.statements.len() >= PG_STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(key, stmt.clone());
        Ok(stmt)
    }
}

/// "could not determine data type of parameter" / "indeterminate datatype".
fn is_untyped_parameter(e: &postgres::Error) -> bool {
    e.code()
        .is_some_and(|c| matches!(c.code(), "42P08" | "42P18"))
}

/// The PostgreSQL type a value binds as when the query does not say.
fn value_type(v: &Value) -> Type {
    match v {
        Value::Int(_) => Type::INT8,
        Value::Real(_) => Type::FLOAT8,
        Value::Blob(_) => Type::BYTEA,
        Value::Null | Value::Text(_) => Type::TEXT,
    }
}

/// The portable dialect in PostgreSQL's spelling: `?N` parameters become `$N` (outside
/// quotes), `instr(` becomes `strpos(`.
pub fn to_postgres(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    let mut next_bare = 0;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    out.push(c);
                }
                '?' => {
                    out.push('$');
                    if chars.peek().is_some_and(char::is_ascii_digit) {
                        while let Some(d) = chars.next_if(char::is_ascii_digit) {
                            out.push(d);
                        }
                    } else {
                        next_bare += 1;
                        out.push_str(&next_bare.to_string());
                    }
                }
                _ => out.push(c),
            },
        }
    }
    out.replace("instr(", "strpos(")
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(n) => match *ty {
                Type::INT8 => n.to_sql(ty, out),
                Type::INT4 => i32::try_from(*n)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*n)?.to_sql(ty, out),
                Type::BOOL => (*n != 0).to_sql(ty, out),
                Type::FLOAT8 => (*n as f64).to_sql(ty, out),
                Type::FLOAT4 => (*n as f32).to_sql(ty, out),
                _ => n.to_string().to_sql(&Type::TEXT, out),
            },
            Value::Real(x) => match *ty {
                Type::FLOAT4 => (*x as f32).to_sql(ty, out),
                Type::FLOAT8 => x.to_sql(ty, out),
                _ => Err(format!("a real number cannot go to a {ty} parameter").into()),
            },
            Value::Text(s) => match *ty {
                Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                Type::INT4 => s.parse::<i32>()?.to_sql(ty, out),
                Type::BYTEA => s.as_bytes().to_sql(ty, out),
                _ => s.as_str().to_sql(&Type::TEXT, out),
            },
            Value::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Value, Box<dyn std::error::Error + Sync + Send>> {
        Ok(match *ty {
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT2 => Value::Int(i64::from(i16::from_sql(ty, raw)?)),
            Type::BOOL => Value::Int(i64::from(bool::from_sql(ty, raw)?)),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f64::from(f32::from_sql(ty, raw)?)),
            Type::BYTEA => Value::Blob(raw.to_vec()),
            _ => Value::Text(String::from_utf8(raw.to_vec())?),
        })
    }

    fn from_sql_null(
        _: &Type,
    ) -> std::result::Result<Value, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Value::Null)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::INT8
                | Type::INT4
                | Type::INT2
                | Type::BOOL
                | Type::FLOAT8
                | Type::FLOAT4
                | Type::BYTEA
                | Type::TEXT
                | Type::VARCHAR
                | Type::BPCHAR
                | Type::NAME
                | Type::UNKNOWN
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_renumbered_outside_quotes() {
        assert_eq!(
            to_postgres("SELECT '?1', \"a?\" FROM t WHERE a = ?1 AND b = ?12 AND instr(c, ?2)"),
            "SELECT '?1', \"a?\" FROM t WHERE a = $1 AND b = $12 AND strpos(c, $2)"
        );
        assert_eq!(to_postgres("VALUES (?, ?)"), "VALUES ($1, $2)");
    }

    #[test]
    fn values_read_back_as_the_types_asked_for() {
        let row = Row {
            values: vec![
                Value::Int(1),
                Value::Null,
                Value::Text("x".into()),
                Value::Int(-1),
            ],
        };
        assert!(row.get::<bool>(0).unwrap());
        assert_eq!(row.get::<Option<String>>(1).unwrap(), None);
        assert_eq!(row.get::<String>(2).unwrap(), "x");
        assert!(matches!(
            row.get::<u32>(3),
            Err(DbError::Type { index: 3, .. })
        ));
        assert!(matches!(
            row.get::<i64>(4),
            Err(DbError::Column { index: 4, len: 4 })
        ));
    }

    #[test]
    fn sqlite_round_trips_every_kind_of_value() {
        let conn = Conn::sqlite(rusqlite::Connection::open_in_memory().unwrap());
        conn.execute_batch("CREATE TABLE t (a INTEGER, b TEXT, c REAL, d BLOB)")
            .unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute(
            "INSERT INTO t VALUES (?1, ?2, ?3, ?4)",
            args![true, "x", 1.5, vec![0u8, 1]],
        )
        .unwrap();
        drop(tx);
        let n: i64 = conn
            .query_row("SELECT count(*) FROM t", args![], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "a dropped transaction rolls back");
        let tx = conn.transaction().unwrap();
        tx.execute(
            "INSERT INTO t VALUES (?1, ?2, ?3, ?4)",
            args![true, "x", 1.5, vec![0u8, 1]],
        )
        .unwrap();
        tx.commit().unwrap();
        let row = conn
            .query_row("SELECT a, b, c, d FROM t", args![], |r| Ok(r.clone()))
            .unwrap();
        assert_eq!(
            row.into_values(),
            vec![
                Value::Int(1),
                Value::Text("x".into()),
                Value::Real(1.5),
                Value::Blob(vec![0, 1])
            ]
        );
        assert!(conn
            .query_row("SELECT a FROM t WHERE a = 2", args![], |r| r.get::<i64>(0))
            .optional()
            .unwrap()
            .is_none());
    }
}
