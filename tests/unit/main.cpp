#define BOOST_TEST_MODULE hookstream_unit
#include <boost/test/unit_test.hpp>
