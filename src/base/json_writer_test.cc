#include "base/json_writer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace stagecraft {
namespace {

TEST(JsonWriterTest, PrintsWhatNlohmannDumpPrints) {
  std::string text;
  JsonWriter<StringSink> json(StringSink{text});
  json.BeginObject();
  json.Key("a \"quoted\" key");
  json.Number(-42);
  json.Key("empty array");
  json.BeginArray();
  json.EndArray();
  json.Key("empty object");
  json.BeginObject();
  json.EndObject();
  json.Key("list");
  json.BeginArray();
  json.String("tab\there, newline\n, bell\x07, back\\slash, caf\xc3\xa9");
  json.Bool(true);
  json.Null();
  json.Optional(std::optional<int64_t>());
  json.Optional(std::optional<std::string>("x"));
  json.BeginObject();
  json.Key("deep");
  json.BeginArray();
  json.Number(1);
  json.EndArray();
  json.EndObject();
  json.EndArray();
  json.EndObject();

  nlohmann::json expected = {
      {"a \"quoted\" key", -42},
      {"empty array", nlohmann::json::array()},
      {"empty object", nlohmann::json::object()},
      {"list",
       {"tab\there, newline\n, bell\x07, back\\slash, caf\xc3\xa9",
        true,
        nullptr,
        nullptr,
        "x",
        {{"deep", {1}}}}},
  };
  EXPECT_EQ(text, expected.dump(2));
}

TEST(JsonWriterTest, LongPlainStringsAndEscapesAtEveryOffset) {
  // The escape scan looks at eight bytes at a time: put the escape at each position.
  for (size_t at = 0; at < 20; ++at) {
    std::string value(20, 'v');
    value[at] = '"';
    std::string text;
    JsonWriter<StringSink> json(StringSink{text});
    json.String(value);
    EXPECT_EQ(text, nlohmann::json(value).dump()) << at;
  }
}

}  // namespace
}  // namespace stagecraft
