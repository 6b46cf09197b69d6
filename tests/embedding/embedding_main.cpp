#define BOOST_TEST_MODULE hookstream_embedding
#include <boost/test/unit_test.hpp>
