//! The `.csv` variants of the lists: every row the filters match, fetched page by page and
//! streamed, so an export of a million rows holds one page in memory.

use crate::http_errors::ApiError;
use app::AppError;
use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, StreamExt};
use std::future::Future;

/// A row type's CSV columns.
pub trait CsvColumns {
    const HEADER: &'static [&'static str];
    fn record(&self) -> Vec<String>;
}

/// A spreadsheet runs a cell that starts with one of these as a formula, the fullwidth forms
/// too in some locales; a leading `'` makes it text (CSV injection).
pub fn neutralise(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠']) {
        format!("'{cell}")
    } else {
        cell
    }
}

pub fn encode<R: CsvColumns>(rows: &[R], with_header: bool) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    // Writing to a Vec cannot fail; a row that could not be written would only be missing.
    if with_header {
        let _ = writer.write_record(R::HEADER);
    }
    for row in rows {
        let _ = writer.write_record(row.record().into_iter().map(neutralise));
    }
    writer.into_inner().unwrap_or_default()
}

/// Streams `filename`: `fetch(query)` answers a page of rows and the query for the next page.
/// The first page is fetched before answering, so a refused or malformed request gets its JSON
/// error instead of a broken file.
pub async fn stream<Q, R, F, Fut>(filename: &str, first: Q, fetch: F) -> Result<Response, ApiError>
where
    Q: Send + 'static,
    R: CsvColumns + Send + 'static,
    F: Fn(Q) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(Vec<R>, Option<Q>), AppError>> + Send + 'static,
{
    let (rows, next) = fetch(first).await?;
    let head = encode(&rows, true);
    let rest = stream::unfold((next, fetch), |(next, fetch)| async move {
        let query = next?;
        match fetch(query).await {
            Ok((rows, next)) => Some((Ok::<_, std::io::Error>(encode(&rows, false)), (next, fetch))),
            Err(error) => {
                // Headers are gone already: cut the stream short so the client sees a failed
                // download rather than a file that looks complete.
                tracing::error!(%error, "CSV export stopped");
                Some((Err(std::io::Error::other("export failed")), (None, fetch)))
            }
        }
    });
    let body = stream::once(async move { Ok(head) }).chain(rest);
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row(&'static str, &'static str);

    impl CsvColumns for Row {
        const HEADER: &'static [&'static str] = &["a", "b"];
        fn record(&self) -> Vec<String> {
            vec![self.0.to_owned(), self.1.to_owned()]
        }
    }

    #[test]
    fn quotes_and_neutralises_formulas() {
        let out = encode(&[Row("=HYPERLINK(\"x\")", "plain, with comma"), Row("-1", "ok")], true);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "a,b\n\"'=HYPERLINK(\"\"x\"\")\",\"plain, with comma\"\n'-1,ok\n");
    }

    #[test]
    fn fullwidth_formula_starts_are_neutralised_too() {
        for cell in ["＝1+1", "＋1", "－1", "＠SUM(A1)"] {
            assert_eq!(neutralise(cell.to_owned()), format!("'{cell}"));
        }
        assert_eq!(neutralise("Zoë".to_owned()), "Zoë");
    }
}
