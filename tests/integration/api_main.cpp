#define BOOST_TEST_MODULE hookstream_api
#include <boost/test/unit_test.hpp>
