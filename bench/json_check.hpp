// Response-body check for the bench load generator: validates that a body is one
// complete JSON text (Boost.JSON's strict parser, default parse_options, nothing but
// whitespace after it) and counts the elements of the root object's
// "delivery_attempts" array, without building a DOM (a SAX handler on
// boost::json::basic_parser, so checking allocates nothing per response).
//
// One body_checker per connection; not thread-safe.
#pragma once

#include <boost/json/basic_parser_impl.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hookstream::bench {

class body_checker {
public:
  // rows >= 0: element count of root."delivery_attempts";
  static constexpr std::int64_t rows_missing = -1;    // no such key (or root not an object)
  static constexpr std::int64_t rows_not_array = -2;  // the key holds something else
  struct result {
    bool valid_json = false;
    std::int64_t rows = rows_missing;
  };

  result check(std::string_view body) {
    parser_.reset();
    boost::json::error_code ec;
    const std::size_t used = parser_.write_some(false, body.data(), body.size(), ec);
    result r;
    r.valid_json = !ec && used == body.size();
    if (r.valid_json) r.rows = parser_.handler().rows;
    return r;
  }

private:
  struct handler {
    static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
    static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
    static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
    static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
    using ec_t = boost::json::error_code;
    using sv = boost::json::string_view;

    std::size_t depth = 0;     // open containers
    bool pending = false;      // last key in the root object was "delivery_attempts", value not yet begun
    bool in_rows = false;      // inside that array
    std::int64_t rows = rows_missing;
    std::string key;           // a root-level key that arrived in parts

    void value_begins(bool is_array) {
      if (depth == 1 && pending) {
        pending = false;
        if (is_array) in_rows = true;
        else rows = rows_not_array;
      }
    }
    bool on_document_begin(ec_t&) {
      depth = 0;
      pending = in_rows = false;
      rows = rows_missing;
      key.clear();
      return true;
    }
    bool on_document_end(ec_t&) { return true; }
    bool on_array_begin(ec_t&) {
      value_begins(true);
      ++depth;
      return true;
    }
    bool on_array_end(std::size_t n, ec_t&) {
      --depth;
      if (depth == 1 && in_rows) {
        in_rows = false;
        rows = static_cast<std::int64_t>(n);
      }
      return true;
    }
    bool on_object_begin(ec_t&) {
      value_begins(false);
      ++depth;
      return true;
    }
    bool on_object_end(std::size_t, ec_t&) {
      --depth;
      return true;
    }
    bool on_key_part(sv s, std::size_t, ec_t&) {
      if (depth == 1) key.append(s.data(), s.size());
      return true;
    }
    bool on_key(sv s, std::size_t, ec_t&) {
      if (depth == 1) {
        if (key.empty()) {
          pending = s == "delivery_attempts";
        } else {
          key.append(s.data(), s.size());
          pending = key == "delivery_attempts";
          key.clear();
        }
      }
      return true;
    }
    bool on_string_part(sv, std::size_t, ec_t&) { value_begins(false); return true; }
    bool on_string(sv, std::size_t, ec_t&) { value_begins(false); return true; }
    bool on_number_part(sv, ec_t&) { value_begins(false); return true; }
    bool on_int64(std::int64_t, sv, ec_t&) { value_begins(false); return true; }
    bool on_uint64(std::uint64_t, sv, ec_t&) { value_begins(false); return true; }
    bool on_double(double, sv, ec_t&) { value_begins(false); return true; }
    bool on_bool(bool, ec_t&) { value_begins(false); return true; }
    bool on_null(ec_t&) { value_begins(false); return true; }
    bool on_comment_part(sv, ec_t&) { return true; }
    bool on_comment(sv, ec_t&) { return true; }
  };

  boost::json::basic_parser<handler> parser_{boost::json::parse_options{}};
};

}  // namespace hookstream::bench
