#include "exec/masking.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stagecraft::exec {
namespace {

// Records what reaches it, per stream, and how many calls delivered it.
class RecordingSink : public OutputSink {
 public:
  void OnOutput(Stream stream, std::string_view bytes) override {
    (stream == Stream::kStdout ? out : err).append(bytes);
    ++calls;
  }
  std::string out;
  std::string err;
  int calls = 0;
};

// Written independently of the implementation so the tests do not check it against itself.
std::string ToBase64(std::string_view bytes) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (unsigned char c : bytes) {
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out.push_back(kAlphabet[(bits >> count) & 63]);
    }
  }
  if (count > 0) out.push_back(kAlphabet[(bits << (6 - count)) & 63]);
  while (out.size() % 4 != 0)
    out.push_back('=');
  return out;
}

SecretMasker MaskerFor(std::vector<std::string_view> secrets) {
  SecretMasker masker;
  for (std::string_view secret : secrets)
    masker.Add(secret);
  return masker;
}

TEST(SecretMasker, PlainSecretIsMasked) {
  SecretMasker masker = MaskerFor({"hunter22"});
  EXPECT_EQ(masker.Mask("password is hunter22, really"), "password is ***, really");
  EXPECT_EQ(masker.Mask("hunter22hunter22 x hunter22"), "****** x ***");
  EXPECT_EQ(masker.Mask("hunter2 is not it"), "hunter2 is not it");
}

TEST(SecretMasker, NothingRegisteredLeavesTextAlone) {
  SecretMasker masker;
  EXPECT_TRUE(masker.empty());
  EXPECT_EQ(masker.Mask("anything at all"), "anything at all");
}

TEST(SecretMasker, OverlappingSecretsAreHiddenAsOneRun) {
  SecretMasker masker = MaskerFor({"abcdef", "defghi"});
  // Masking "abcdef" first and resuming after it would leak "ghi" of the second secret.
  EXPECT_EQ(masker.Mask("x abcdefghi y"), "x *** y");
  EXPECT_EQ(masker.Mask("x defghiabcdef y"), "x ****** y");
}

TEST(SecretMasker, LongestPatternWinsAtTheSamePosition) {
  SecretMasker masker = MaskerFor({"secret", "secret-with-suffix"});
  EXPECT_EQ(masker.Mask("[secret-with-suffix]"), "[***]");
  EXPECT_EQ(masker.Mask("[secret-with]"), "[***-with]");
}

TEST(SecretMasker, ShortValuesAreIgnored) {
  SecretMasker masker;
  EXPECT_FALSE(masker.Add("abc"));
  EXPECT_FALSE(masker.Add("  ab \n"));
  EXPECT_TRUE(masker.empty());
  EXPECT_EQ(masker.Mask("abc ab"), "abc ab");
}

TEST(SecretMasker, ShortValueIsHiddenOnlyInsideALongerSecret) {
  SecretMasker masker = MaskerFor({"abc", "abcdef"});
  EXPECT_EQ(masker.Mask("abc abcdef"), "abc ***");
}

TEST(SecretMasker, TrailingNewlineFromASecretFileIsIgnored) {
  SecretMasker masker = MaskerFor({"tok3n-value\n"});
  EXPECT_EQ(masker.Mask("Authorization: Bearer tok3n-value"), "Authorization: Bearer ***");
  // base64 of the file as read, newline included (`base64 < token.txt`).
  EXPECT_EQ(masker.Mask(ToBase64("tok3n-value\n")), "***");
}

TEST(SecretMasker, MultiLineSecretMasksEachLine) {
  SecretMasker masker =
      MaskerFor({"-----BEGIN KEY-----\r\nMIIEvQIBADANBg\r\nkqhkiG9w0B\r\nab\r\n"});
  EXPECT_EQ(masker.Mask("key:\n-----BEGIN KEY-----\nMIIEvQIBADANBg\nkqhkiG9w0B\nab\n"),
            "key:\n***\n***\n***\nab\n");
  // A line on its own, indented, in other output.
  EXPECT_EQ(masker.Mask("  data: kqhkiG9w0B"), "  data: ***");
}

TEST(SecretMasker, Base64OfSecretAloneIsMaskedWhole) {
  SecretMasker masker = MaskerFor({"hunter22!"});
  EXPECT_EQ(masker.Mask("echo " + ToBase64("hunter22!")), "echo ***");
  SecretMasker odd = MaskerFor({"hunter2!"});  // length 8: padded "=" at the end
  EXPECT_EQ(odd.Mask(ToBase64("hunter2!") + "\n"), "***\n");
}

TEST(SecretMasker, Base64AtEveryAlignmentInsideLongerBase64) {
  const std::string secret = "s3cr3t-P4ss";
  SecretMasker masker = MaskerFor({secret});
  for (std::string prefix : {"user:", "user", "usr:", "admin:x", ""}) {
    for (std::string suffix : {"", "@", "@host", "@host:443"}) {
      SCOPED_TRACE("prefix '" + prefix + "' suffix '" + suffix + "'");
      std::string encoded = ToBase64(prefix + secret + suffix);
      std::string masked = masker.Mask("Authorization: Basic " + encoded);
      ASSERT_NE(masked.find("***"), std::string::npos) << masked;
      // Only the edge characters shared with the neighbours may survive.
      size_t first_of_secret = prefix.size() * 8 / 6;
      EXPECT_EQ(masked.substr(0, 21 + first_of_secret),
                "Authorization: Basic " + encoded.substr(0, first_of_secret));
      size_t hidden = encoded.size() + 21 + 3 - masked.size();
      EXPECT_GE(hidden, secret.size() * 8 / 6 - 1) << masked;
    }
  }
}

TEST(SecretMasker, WrappedBase64OfALongSecretIsMaskedLineByLine) {
  std::string secret;
  for (int i = 0; i < 120; ++i)
    secret.push_back(static_cast<char>('!' + (i * 37) % 90));
  SecretMasker masker = MaskerFor({secret});
  std::string encoded = ToBase64(secret);  // 160 characters
  for (size_t width : {76, 64}) {
    std::string wrapped;
    for (size_t at = 0; at < encoded.size(); at += width)
      wrapped += encoded.substr(at, width) + "\n";
    EXPECT_EQ(masker.Mask(wrapped), "***\n***\n***\n") << width;
  }
}

TEST(SecretMasker, HexInBothCasesIsMaskedAloneAndInsideLongerHex) {
  SecretMasker masker = MaskerFor({"s3cr3t-P4ss"});
  EXPECT_EQ(masker.Mask("7333637233742d50347373\n"), "***\n");
  EXPECT_EQ(masker.Mask("7333637233742D50347373\n"), "***\n");
  // Inside a longer dump ("user:" before, "@h" after) at any byte boundary.
  EXPECT_EQ(masker.Mask("757365723a7333637233742d503473734068"), "757365723a***4068");
  EXPECT_EQ(masker.Mask("757365723A7333637233742D503473734068"), "757365723A***4068");
}

TEST(SecretMasker, XxdWrappedHexOfALongSecretIsMaskedLineByLine) {
  const std::string secret = "a-long-secret-value-of-forty-five-bytes-total";
  SecretMasker masker = MaskerFor({secret});
  std::string hex;
  for (unsigned char c : secret) {
    hex.push_back("0123456789abcdef"[c >> 4]);
    hex.push_back("0123456789abcdef"[c & 15]);
  }
  std::string wrapped = hex.substr(0, 60) + "\n" + hex.substr(60) + "\n";
  EXPECT_EQ(masker.Mask(wrapped), "***\n***\n");
}

TEST(SecretMasker, Base64UrlAlphabetIsMasked) {
  std::string secret = "\xfb\xff\xbf-key>>?";  // encodes to '+' and '/' in the standard alphabet
  SecretMasker masker = MaskerFor({secret});
  std::string standard = ToBase64(secret);
  std::string url = standard;
  for (char& c : url) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  ASSERT_NE(standard, url);
  EXPECT_EQ(masker.Mask(standard), "***");
  EXPECT_EQ(masker.Mask("jwt." + url.substr(0, url.find('=')) + ".sig"), "jwt.***.sig");
}

TEST(SecretMasker, UrlEncodedSecretIsMasked) {
  SecretMasker masker = MaskerFor({"p@ss w/rd!"});
  EXPECT_EQ(masker.Mask("https://u:p%40ss%20w%2Frd%21@db/"), "https://u:***@db/");
  EXPECT_EQ(masker.Mask("?pw=p%40ss+w%2Frd%21&x=1"), "?pw=***&x=1");
  EXPECT_EQ(masker.Mask("?pw=p%40ss%20w%2frd%21"), "?pw=***");
  EXPECT_EQ(masker.Mask("?pw=p%40ss%20w%2Frd!"), "?pw=***");  // encodeURIComponent
  EXPECT_EQ(masker.Mask("?pw=p%40ss%20w/rd%21"), "?pw=***");  // Python's quote()
}

TEST(SecretMasker, JsonEscapedSecretWithQuoteAndNewlineIsMasked) {
  SecretMasker masker = MaskerFor({"pa\"ss\nwo\\rd/\x01"});
  EXPECT_EQ(masker.Mask(R"({"password":"pa\"ss\nwo\\rd/\u0001"})"), R"({"password":"***"})");
  EXPECT_EQ(masker.Mask(R"({"password":"pa\"ss\nwo\\rd\/\u0001"})"), R"({"password":"***"})");
  EXPECT_EQ(masker.Mask(R"({"password":"pa\"ss\nwo\\rd/\u0001",)"), R"({"password":"***",)");
}

TEST(SecretMasker, JsonAsciiOnlyAndHtmlSafeEscapesAreMasked) {
  SecretMasker masker = MaskerFor({"caf\xc3\xa9<&>\xf0\x9f\x94\x91"});
  EXPECT_EQ(masker.Mask(R"("caf\u00e9<&>\ud83d\udd11")"), "\"***\"");  // Python
  EXPECT_EQ(masker.Mask("\"caf\xc3\xa9\\u003c\\u0026\\u003e\xf0\x9f\x94\x91\""),
            "\"***\"");  // Go
}

TEST(SecretMasker, BinaryDataWithNulBytesPassesUnchanged) {
  SecretMasker masker = MaskerFor({"hunter22", std::string_view("\0\0\0\0\x01", 5)});
  std::string binary;
  for (int round = 0; round < 4; ++round) {
    for (int c = 0; c < 256; ++c)
      binary.push_back(static_cast<char>(c));
  }
  EXPECT_EQ(masker.Mask(binary), binary);
  EXPECT_EQ(masker.Mask(std::string_view("a\0\0\0\0\x01z", 7)), "a***z");
}

TEST(MaskingSink, SecretSplitAcrossTwoWritesAtEveryPoint) {
  SecretMasker masker = MaskerFor({"hunter22"});
  const std::string line = "the secret is hunter22 ok\n";
  for (size_t split = 0; split <= line.size(); ++split) {
    RecordingSink recorder;
    MaskingSink sink(recorder, masker);
    sink.OnOutput(Stream::kStdout, std::string_view(line).substr(0, split));
    sink.OnOutput(Stream::kStdout, std::string_view(line).substr(split));
    EXPECT_EQ(recorder.out, "the secret is *** ok\n") << "split at " << split;
  }
}

TEST(MaskingSink, ChunkingNeverChangesTheOutputEvenPastTheLineCap) {
  SecretMasker masker = MaskerFor({"abcdef", "defghi", "0123456789ABCDEF"});
  std::string text;
  for (int i = 0; i < 20; ++i)
    text += "xx abcdefghi yy 0123456789ABCDEF" + std::string(i, 'z') + "abcdefabcdef";
  text += "\nshort abcdef line\nunterminated 0123456789ABC";
  const std::string expected = masker.Mask(text);
  for (size_t cap : {1, 7, 16, 64}) {
    for (size_t chunk = 1; chunk <= 40; ++chunk) {
      RecordingSink recorder;
      MaskingSink sink(recorder, masker, cap);
      for (size_t at = 0; at < text.size(); at += chunk)
        sink.OnOutput(Stream::kStdout, std::string_view(text).substr(at, chunk));
      sink.Flush();
      EXPECT_EQ(recorder.out, expected) << "cap " << cap << " chunk " << chunk;
    }
  }
}

TEST(MaskingSink, SecretSplitAcrossStdoutAndStderrIsNotJoined) {
  SecretMasker masker = MaskerFor({"hunter22"});
  RecordingSink recorder;
  MaskingSink sink(recorder, masker);
  sink.OnOutput(Stream::kStdout, "pw=hunt");
  sink.OnOutput(Stream::kStderr, "er22 warning\n");
  sink.OnOutput(Stream::kStdout, "er22\n");
  sink.OnOutput(Stream::kStderr, "hunt");
  sink.Flush();
  EXPECT_EQ(recorder.out, "pw=***\n");
  EXPECT_EQ(recorder.err, "er22 warning\nhunt");
}

TEST(MaskingSink, CompleteLinesPassBeforeFlush) {
  SecretMasker masker = MaskerFor({"hunter22"});
  RecordingSink recorder;
  MaskingSink sink(recorder, masker);
  sink.OnOutput(Stream::kStdout, "one hunter22\ntwo");
  EXPECT_EQ(recorder.out, "one ***\n");
  EXPECT_EQ(sink.buffered(Stream::kStdout), 3u);
}

TEST(MaskingSink, FlushEmitsTheUnterminatedLastLine) {
  SecretMasker masker = MaskerFor({"hunter22"});
  RecordingSink recorder;
  MaskingSink sink(recorder, masker);
  sink.OnOutput(Stream::kStdout, "done\nlast hunter22");
  sink.OnOutput(Stream::kStderr, "no newline");
  EXPECT_EQ(recorder.out, "done\n");
  sink.Flush();
  EXPECT_EQ(recorder.out, "done\nlast ***");
  EXPECT_EQ(recorder.err, "no newline");
  EXPECT_EQ(sink.buffered(Stream::kStdout), 0u);
}

TEST(MaskingSink, DestructorFlushesWhatIsLeft) {
  SecretMasker masker = MaskerFor({"hunter22"});
  RecordingSink recorder;
  {
    MaskingSink sink(recorder, masker);
    sink.OnOutput(Stream::kStdout, "tail hunter22");
  }
  EXPECT_EQ(recorder.out, "tail ***");
}

TEST(MaskingSink, TenMiBLineWithoutNewlineIsStreamedWithBoundedBuffer) {
  SecretMasker masker = MaskerFor({"hunter22"});
  RecordingSink recorder;
  MaskingSink sink(recorder, masker);
  // One line of 10 MiB: "x...xhunter22" repeated, written 4000 bytes at a time so writes
  // and early cuts land at every offset of the unit, secrets included.
  const std::string unit = std::string(93, 'x') + "hunter22";
  const size_t units = (size_t{10} << 20) / unit.size() + 1;
  const size_t total = units * unit.size();
  std::string periodic;
  while (periodic.size() < 4000 + unit.size())
    periodic += unit;
  size_t sent = 0;
  size_t max_buffered = 0;
  while (sent < total) {
    size_t size = std::min<size_t>(4000, total - sent);
    sink.OnOutput(Stream::kStdout, std::string_view(periodic).substr(sent % unit.size(), size));
    sent += size;
    max_buffered = std::max(max_buffered, sink.buffered(Stream::kStdout));
  }
  const size_t shrink = std::string_view("hunter22").size() - kMaskText.size();
  EXPECT_LE(max_buffered, MaskingSink::kDefaultLineCap + 4000 + masker.longest_pattern());
  EXPECT_GE(recorder.out.size() + units * shrink,
            total - MaskingSink::kDefaultLineCap - 4000 - masker.longest_pattern());
  EXPECT_EQ(recorder.out.find("hunt"), std::string::npos);
  EXPECT_EQ(recorder.out.find("er22"), std::string::npos);
  sink.Flush();
  EXPECT_EQ(recorder.out.size(), total - units * shrink);
  EXPECT_EQ(recorder.out.find("hunt"), std::string::npos);
  EXPECT_EQ(recorder.out.find("er22"), std::string::npos);
}

TEST(MaskingSink, OneHugeWriteIsEmittedInPieces) {
  SecretMasker masker = MaskerFor({"hunter22"});
  RecordingSink recorder;
  MaskingSink sink(recorder, masker);
  const std::string huge(10 << 20, 'y');
  sink.OnOutput(Stream::kStdout, huge);
  EXPECT_LE(sink.buffered(Stream::kStdout), 2 * MaskingSink::kDefaultLineCap);
  EXPECT_GE(recorder.out.size(), huge.size() - 2 * MaskingSink::kDefaultLineCap);
  sink.Flush();
  EXPECT_EQ(recorder.out, huge);
}

TEST(MaskingSink, BinaryDataWithNulBytesPassesUnchanged) {
  SecretMasker masker = MaskerFor({"hunter22"});
  std::string binary;
  for (int round = 0; round < 1000; ++round) {
    for (int c = 0; c < 256; ++c)
      binary.push_back(static_cast<char>((c * 7 + round) & 0xFF));
  }
  RecordingSink recorder;
  MaskingSink sink(recorder, masker, /*line_cap=*/1000);
  for (size_t at = 0; at < binary.size(); at += 333)
    sink.OnOutput(Stream::kStderr, std::string_view(binary).substr(at, 333));
  sink.Flush();
  EXPECT_EQ(recorder.err, binary);
}

TEST(MaskingSink, SecretAddedBetweenWritesIsMaskedFromThenOn) {
  SecretMasker masker;
  RecordingSink recorder;
  MaskingSink sink(recorder, masker);
  sink.OnOutput(Stream::kStdout, "before hunter22\n");
  masker.Add("hunter22");
  sink.OnOutput(Stream::kStdout, "after hunter22\n");
  EXPECT_EQ(recorder.out, "before hunter22\nafter ***\n");
}

TEST(LooksSecret, MatchesCommonSecretNames) {
  for (std::string_view name : {"DB_PASSWORD",
                                "PGPASSWORD",
                                "MYSQL_PWD_PASSWD",
                                "GPG_PASSPHRASE",
                                "CLIENT_SECRET",
                                "AWS_SECRET_ACCESS_KEY",
                                "GITHUB_TOKEN",
                                "NPM_TOKEN",
                                "GOOGLE_APPLICATION_CREDENTIALS",
                                "API_KEY",
                                "STRIPE_KEYS",
                                "KEY",
                                "OPENAI_APIKEY",
                                "apiKey",
                                "dbPassword",
                                "DB_PASS",
                                "PASS",
                                "SSH_PRIVATE_KEY",
                                "SIGNING_PRIVATE",
                                "SECRET_KEY_BASE",
                                "db-pass"}) {
    EXPECT_TRUE(LooksSecret(name)) << name;
  }
}

TEST(LooksSecret, IgnoresKeyAndPassInsideOtherWords) {
  for (std::string_view name : {"MONKEY", "KEYBOARD_LAYOUT", "HOCKEY_TEAM", "BYPASS_CACHE",
                                "COMPASS", "PASSENGER_COUNT", "monkeyName", "KEYCLOAK_URL"}) {
    EXPECT_FALSE(LooksSecret(name)) << name;
  }
}

TEST(LooksSecret, IgnoresNamesAboutASecret) {
  for (std::string_view name : {"SECRET_ARN", "AWS_ACCESS_KEY_ID", "KMS_KEY_ID", "DB_PASSWORD_FILE",
                                "TOKEN_TTL", "SECRET_NAME", "KEY_PATH", "PRIVATE_SUBNET_IDS"}) {
    EXPECT_FALSE(LooksSecret(name)) << name;
  }
}

TEST(LooksSecret, IgnoresLookupKeysAndShellVariables) {
  for (std::string_view name : {"PARTITION_KEY", "SORT_KEY", "S3_KEY", "CACHE_KEY", "PWD", "OLDPWD",
                                "PATH", "HOME", "", "_"}) {
    EXPECT_FALSE(LooksSecret(name)) << name;
  }
}

}  // namespace
}  // namespace stagecraft::exec
