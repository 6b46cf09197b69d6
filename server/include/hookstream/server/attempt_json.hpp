// JSON rendering of delivery attempts, written straight into a string buffer.
//
// Hand-written rather than built as a boost::json::value: the listing is the hot
// path and this writes each byte once, through a raw cursor into a buffer grown
// ahead in large steps (an escape costs two stores, not a string append).
// Guarantees:
//  - fields in the API's order with the API's types; nullable fields are `null`;
//  - the output is valid UTF-8 whatever the database holds: invalid sequences
//    (in a response body a destination sent, say) become U+FFFD, one per maximal
//    invalid subpart as the WHATWG/Unicode recommendation describes;
//  - timestamps are RFC 3339 UTC with milliseconds (`2026-11-28T08:39:52.929Z`).
#pragma once

#include <hookstream/storage/attempt_repository.hpp>

#include <string>
#include <string_view>

namespace hookstream::server {

/// Appends `s` as a JSON string literal (quotes included), escaping as needed and
/// replacing invalid UTF-8.
void append_json_string(std::string& out, std::string_view s);

/// Appends an RFC 3339 UTC timestamp with milliseconds (truncated, not rounded).
void append_rfc3339(std::string& out, storage::unix_micros t);

/// Appends one attempt as a JSON object.
void append_attempt(std::string& out, const storage::delivery_attempt_view& a);

/// The attempt's JSON object without its route names and closing brace: what
/// append_attempt writes before `,"connection_name":`. The row cache keeps this
/// with each row (the attempt_row_cache's prerender), and page_writer copies
/// it instead of rendering the row again; the names, which may change while
/// the row does not, are written on every page.
std::string attempt_head_json(const storage::delivery_attempt_view& a);

/// Pagination values of a listing page.
struct page_meta {
  std::int64_t total = 0;
  int limit = 0;
  std::int64_t offset = 0;
  bool has_more = false;
  std::string next_cursor;  ///< empty renders as null
  std::string prev_cursor;  ///< empty renders as null
};

/// The listing's body: {"delivery_attempts": [...], "pagination": {...}}, all rows.
std::string render_attempt_page(const storage::attempt_rows& rows, const page_meta& meta);

/// Renders a listing page in slices, so that a page of large rows neither holds
/// the event loop for long (the caller yields between slices) nor grows past a
/// ceiling.
///
/// Rows are written in order until all are written or the body would pass
/// `max_body_bytes`: the row that would cross it is left out, except the first
/// row, which is always written (a page is never empty because one row is big).
/// `rows_written()` then tells the caller where the page ends, so that it can
/// say `has_more` and put `next_cursor` after the last row written.
///
/// A row with prerendered bytes (attempt_rows::prerendered: it came from a row
/// cache) is written as those bytes, then its route names: the cache's
/// prerender must be attempt_head_json.
class page_writer {
 public:
  /// `rows` must outlive the writer.
  page_writer(const storage::attempt_rows& rows, std::size_t max_body_bytes);
  /// Writes rows until about `slice_bytes` more output exists or no row is left;
  /// true when no row is left to write.
  bool write_some(std::size_t slice_bytes);
  int rows_written() const noexcept { return written_; }
  /// True when the ceiling, not the end of the rows, ended the page.
  bool stopped_at_ceiling() const noexcept { return stopped_; }
  /// Closes the document with the pagination and hands it over.
  std::string finish(const page_meta& meta) &&;

 private:
  const storage::attempt_rows& rows_;
  std::size_t max_body_bytes_;
  std::string out_;      // out_[0, used_) is the document so far; the rest is room
  std::size_t used_ = 0;
  int written_ = 0;
  bool stopped_ = false;
};

/// The single-attempt body: {"delivery_attempt": {...}}.
std::string render_single_attempt(const storage::delivery_attempt_view& a);

}  // namespace hookstream::server
