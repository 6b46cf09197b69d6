#define BOOST_TEST_MODULE hookstream_storage
#include <boost/test/unit_test.hpp>
