// The .dbnn loader (core/loader): SHA-256 against FIPS 180-2 vectors, the
// fixtures (csrc/tests/fixtures) against what Python wrote, crafted bad
// files, and a fuzz run of corrupted fixtures that must all end in
// FormatError / IoError (or load), never a crash.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "loader/dbnn.hpp"
#include "loader/sha256.hpp"

using dirnet::DbnnFile;
using dirnet::FormatError;
using dirnet::IoError;
using nlohmann::json;
using Bytes = std::vector<unsigned char>;

namespace {

const std::string kFixtures = DIRNET_FIXTURES;
const char* const kModels[] = {"resnet8_fp32", "resnet8_fp16", "mixed_fp32", "mixed_fp16"};

std::string fixture(const std::string& name) { return kFixtures + "/" + name; }

Bytes slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A file split into its safetensors JSON header and tensor data, to be edited
// and put back together (with any header length, to lie).
struct Parts {
  json top;
  Bytes data;
};

Parts split(const Bytes& file) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | file[i];
  Parts p;
  p.top = json::parse(file.begin() + 8, file.begin() + 8 + long(n));
  p.data.assign(file.begin() + 8 + long(n), file.end());
  return p;
}

Bytes join(const std::string& header, const Bytes& data, uint64_t length) {
  Bytes out(8);
  for (int i = 0; i < 8; ++i) out[i] = (unsigned char)(length >> (8 * i));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

Bytes join(const Parts& p) {
  const std::string h = p.top.dump();
  return join(h, p.data, h.size());
}

DbnnFile load(const Bytes& b, const std::string& where = "t.dbnn") {
  return dirnet::read_dbnn_memory(b.data(), b.size(), where);
}

// The message of the FormatError that loading `b` must raise.
std::string format_error(const Bytes& b) {
  try {
    load(b);
  } catch (const FormatError& e) {
    return e.what();
  }
  FAIL("loaded without a FormatError");
  return "";
}

// A header of `base` with `edit` applied to its dirnet JSON; the tensors and
// their checksum stay valid.
Bytes with_header(const Bytes& base, const std::function<void(json&)>& edit) {
  Parts p = split(base);
  json h = json::parse(p.top["__metadata__"]["dirnet"].get<std::string>());
  edit(h);
  p.top["__metadata__"]["dirnet"] = h.dump();
  return join(p);
}

// A container of F32 tensors (name, shape, begin, end) over `data_size` zero bytes.
struct Spec {
  std::string name;
  json shape;
  json begin, end;
};

Bytes container(const std::vector<Spec>& tensors, size_t data_size, const Bytes& base) {
  Parts p = split(base);
  json top = json::object();
  top["__metadata__"] = p.top["__metadata__"];
  for (const auto& t : tensors) {
    json info = json::object();
    info["dtype"] = "F32";
    info["shape"] = t.shape;
    info["data_offsets"] = json::array({t.begin, t.end});
    top[t.name] = info;
  }
  const std::string h = top.dump();
  return join(h, Bytes(data_size, 0), h.size());
}

json dims(std::initializer_list<json> d) { return json(std::vector<json>(d)); }

// Reference half -> float in double arithmetic, from the definition.
double half_value(uint16_t h) {
  const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  const double sign = s ? -1.0 : 1.0;
  if (e == 31) return m ? std::nan("") : sign * INFINITY;
  if (e == 0) return sign * std::ldexp(double(m), -24);
  return sign * std::ldexp(double(1024 + m), e - 25);
}

}  // namespace

// ------------------------------------------------------------------ SHA-256

TEST_CASE("sha256 matches the FIPS 180-2 test vectors") {
  CHECK(dirnet::sha256_hex("abc", 3) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(dirnet::sha256_hex("", 0) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK(dirnet::sha256_hex(m448.data(), m448.size()) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1000000, 'a');
  CHECK(dirnet::sha256_hex(million.data(), million.size()) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256 gives the same digest however the input is split") {
  std::mt19937 rng(7);
  std::string msg(300, '\0');
  for (char& c : msg) c = char(rng());
  for (size_t len : {0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 300}) {
    const std::string whole = dirnet::sha256_hex(msg.data(), len);
    for (size_t chunk : {1, 3, 63, 64, 65}) {
      dirnet::Sha256 h;
      for (size_t at = 0; at < len; at += chunk) h.update(msg.data() + at, std::min(chunk, len - at));
      CHECK_MESSAGE(h.hexdigest() == whole, "len " << len << " chunk " << chunk);
    }
  }
}

// ------------------------------------------------------------------ fixtures

TEST_CASE("the fixtures load with the tensors Python wrote, checksum verified") {
  for (const std::string model : kModels) {
    CAPTURE(model);
    const DbnnFile f = dirnet::read_dbnn_file(fixture(model + ".dbnn"));
    CHECK(f.where == fixture(model + ".dbnn"));
    CHECK(f.header["format"] == "dirnet.dbnn");
    CHECK(f.header["input"]["channels"] == 3);
    CHECK(json::parse(f.header_text) == f.header);
    // The stored sum is Python's hashlib over fileformat.tensors_sha256's records.
    CHECK(dirnet::tensors_sha256(f.tensors) == f.header["tensors_sha256"].get<std::string>());
    size_t total = 0;
    for (const auto& [name, t] : f.tensors) {
      CHECK(t.bytes == size_t(t.numel()) * (t.dtype == dirnet::DType::F16 ? 2 : t.dtype == dirnet::DType::F32 ? 4 : 8));
      CHECK(t.data >= f.bytes->data());
      CHECK(t.data + t.bytes <= f.bytes->data() + f.bytes->size());
      total += t.bytes;
    }
    CHECK(total < f.bytes->size());
  }
}

TEST_CASE("resnet8: names, dtypes, shapes, precision and values") {
  const DbnnFile a = dirnet::read_dbnn_file(fixture("resnet8_fp32.dbnn"));
  const DbnnFile b = dirnet::read_dbnn_file(fixture("resnet8_fp16.dbnn"));
  CHECK(a.tensors.size() == 31);
  CHECK(b.tensors.size() == 31);
  CHECK(a.header["precision"] == "fp32");
  CHECK(b.header["precision"] == "fp16");
  CHECK(a.header["input"]["size_hint"] == json::array({3, 16, 16}));
  CHECK(a.header["class_names"].size() == 10);
  std::set<std::string> ops;
  for (const auto& op : a.header["graph"]) ops.insert(op["op"].get<std::string>());
  CHECK(ops == std::set<std::string>{"adaptive_avgpool2d", "add", "affine", "bconv2d", "conv2d", "flatten",
                                     "hardtanh", "input", "linear", "shortcut_a"});

  const auto& w = a.tensors.at("layer2.0.conv1.weight");
  CHECK(w.dtype == dirnet::DType::U64);
  CHECK(w.dtype_name == "U64");
  CHECK(w.shape == std::vector<int64_t>{16, 3, 3, 1});
  CHECK(dirnet::to_u64(w, "w").size() == 144);
  // Channel padding bits are 0: 8 input channels use the low byte of each word.
  for (uint64_t word : dirnet::to_u64(a.tensors.at("layer1.0.conv1.weight"), "w")) CHECK((word >> 8) == 0);

  // The stem stays F32 in the fp16 file; the classifier is F16, the fp32
  // values rounded to half.
  CHECK(b.tensors.at("conv1.weight").dtype == dirnet::DType::F32);
  CHECK(dirnet::to_f32(a.tensors.at("conv1.weight"), "c") == dirnet::to_f32(b.tensors.at("conv1.weight"), "c"));
  const auto& h = b.tensors.at("fc.weight");
  CHECK(h.dtype == dirnet::DType::F16);
  CHECK(h.shape == std::vector<int64_t>{10, 32});
  const auto wide = dirnet::to_f32(a.tensors.at("fc.weight"), "fc");
  const auto narrow = dirnet::to_f32(h, "fc");
  REQUIRE(wide.size() == narrow.size());
  bool changed = false;
  for (size_t i = 0; i < wide.size(); ++i) {
    CHECK(std::fabs(wide[i] - narrow[i]) <= std::fabs(wide[i]) * 0x1p-11f + 0x1p-25f);
    changed = changed || wide[i] != narrow[i];
  }
  CHECK(changed);
  CHECK_THROWS_AS(dirnet::to_u64(h, "fc.weight"), FormatError);
  CHECK_THROWS_AS(dirnet::to_f32(w, "w"), FormatError);
}

TEST_CASE("mixed: binary linear, input threshold, zero padding") {
  const DbnnFile f = dirnet::read_dbnn_file(fixture("mixed_fp16.dbnn"));
  CHECK(f.tensors.at("fc1.weight").shape == std::vector<int64_t>{12, 1});
  CHECK(f.tensors.at("b3.in_threshold").dtype == dirnet::DType::F32);
  CHECK(f.tensors.at("fc2.weight").dtype == dirnet::DType::F16);
  CHECK(f.tensors.at("c1.weight").dtype == dirnet::DType::F32);
  bool zero_pad = false;
  for (const auto& op : f.header["graph"])
    if (op["op"] == "bconv2d" && op["attrs"]["pad_value"] == 0.0) zero_pad = true;
  CHECK(zero_pad);
}

TEST_CASE("names.dbnn: escaped names hash as Python's json.dumps writes them; every dtype") {
  const DbnnFile f = dirnet::read_dbnn_file(fixture("names.dbnn"));
  // fileformat.read(...)["tensors_sha256"] as make_fixtures.py printed it
  // (the file is written without torch, so regenerating keeps it).
  CHECK(f.header["tensors_sha256"] == "53159a18440a5685abe9d97829c625e46e24da2ab97b3d796129494aed000b1e");
  CHECK(dirnet::tensors_sha256(f.tensors) == f.header["tensors_sha256"].get<std::string>());
  CHECK(f.tensors.count("caf\xc3\xa9.weight") == 1);
  CHECK(f.tensors.count("\xf0\x9f\x98\x80") == 1);
  CHECK(f.tensors.at("tab\there\nnl\x01\x7f").dtype == dirnet::DType::BOOL);
  CHECK(f.tensors.at("quote\"back\\slash").dtype == dirnet::DType::I32);
  CHECK(f.tensors.at("b.i64").dtype == dirnet::DType::I64);
  CHECK(f.tensors.at("c.i8").dtype == dirnet::DType::I8);
  CHECK(f.tensors.at("d.u8").dtype == dirnet::DType::U8);
  CHECK(f.tensors.at("e.f64").dtype == dirnet::DType::F64);
  CHECK(f.tensors.at("empty").shape == std::vector<int64_t>{0, 4});
  CHECK(f.tensors.at("empty").bytes == 0);
  CHECK(dirnet::to_f32(f.tensors.at("empty"), "empty").empty());

  // U64 at whatever alignment the file gives it.
  CHECK(dirnet::to_u64(f.tensors.at("a.u64"), "u") ==
        std::vector<uint64_t>{0, 1, UINT64_MAX, 0x0123456789ABCDEFull});
  CHECK(dirnet::to_f32(f.tensors.at("\xf0\x9f\x98\x80"), "f") == std::vector<float>{1.5f, -0.0f, INFINITY});
  CHECK(dirnet::to_f32(f.tensors.at("caf\xc3\xa9.weight"), "h") ==
        std::vector<float>{-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f});
  const auto sp = dirnet::to_f32(f.tensors.at("half.special"), "h");
  REQUIRE(sp.size() == 12);
  CHECK(sp[0] == 0.0f);
  CHECK(!std::signbit(sp[0]));
  CHECK(std::signbit(sp[1]));
  CHECK(sp[2] == 1.0f);
  CHECK(sp[3] == -2.0f);
  CHECK(sp[4] == 65504.0f);
  CHECK(sp[5] == 0x1p-14f);   // smallest normal
  CHECK(sp[6] == 0x1p-24f);   // smallest subnormal
  CHECK(sp[7] == -0x1p-24f);
  CHECK(sp[8] == 0x1p-15f);   // a subnormal
  CHECK(sp[9] == INFINITY);
  CHECK(sp[10] == -INFINITY);
  CHECK(std::isnan(sp[11]));
  CHECK_THROWS_AS(dirnet::to_f32(f.tensors.at("e.f64"), "e.f64"), FormatError);
}

TEST_CASE("half_to_float is exact for all 65536 halves") {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float got = dirnet::half_to_float(uint16_t(h));
    const double want = half_value(uint16_t(h));
    if (std::isnan(want)) {
      CHECK(std::isnan(got));
    } else if (double(got) != want || std::signbit(got) != bool(h >> 15)) {
      FAIL("half " << h << ": " << got << " != " << want);
    }
  }
}

TEST_CASE("a file written before tensors_sha256 existed loads unchecked") {
  const DbnnFile f = dirnet::read_dbnn_file(fixture("legacy_nosum.dbnn"));
  CHECK(!f.header.contains("tensors_sha256"));
  CHECK(dirnet::to_f32(f.tensors.at("conv.weight"), "w").size() == 12);
}

TEST_CASE("read_dbnn_memory copies; file errors are IoError / FormatError") {
  Bytes b = slurp(fixture("mixed_fp32.dbnn"));
  const DbnnFile m = load(b, "<memory>");
  CHECK(m.where == "<memory>");
  const auto before = dirnet::to_f32(m.tensors.at("c1.weight"), "w");
  std::fill(b.begin(), b.end(), 0);  // the caller's buffer is not referenced
  CHECK(dirnet::to_f32(m.tensors.at("c1.weight"), "w") == before);
  CHECK(dirnet::tensors_sha256(m.tensors) == m.header["tensors_sha256"].get<std::string>());

  try {
    dirnet::read_dbnn_file(fixture("no-such-file.dbnn"));
    FAIL("no error");
  } catch (const IoError& e) {
    CHECK(std::string(e.what()).find("no-such-file.dbnn") != std::string::npos);
  }
  CHECK_THROWS_AS(dirnet::read_dbnn_file(kFixtures), FormatError);  // a directory
  CHECK_THROWS_AS(dirnet::read_dbnn_memory(nullptr, 10), FormatError);
  CHECK_THROWS_AS(dirnet::read_dbnn_memory(nullptr, 0), FormatError);
}

// ------------------------------------------------------------------ crafted files

TEST_CASE("crafted containers are refused with a message naming the file") {
  const Bytes base = slurp(fixture("resnet8_fp32.dbnn"));
  const Parts p = split(base);
  const std::string h = p.top.dump();
  auto has = [](const std::string& msg, const std::string& part) {
    CHECK_MESSAGE(msg.find(part) != std::string::npos, msg);
    CHECK_MESSAGE(msg.rfind("t.dbnn", 0) == 0, msg);
  };

  has(format_error(Bytes(7, 0)), "only 7 bytes");
  has(format_error(join(h, p.data, h.size() + p.data.size() + 1)), "runs past the end");
  has(format_error(join(h, p.data, uint64_t(1) << 63)), "exceeds");
  has(format_error(join(h, p.data, h.size() - 1)), "not valid JSON");
  has(format_error(join(h, p.data, 0)), "not valid JSON");
  has(format_error(join("[1,2]", {}, 5)), "not a JSON object");
  // The parser quotes the bytes it choked on; the message stays one line of
  // valid UTF-8 (Python gets it as str).
  const std::string bad = format_error(join("{\"a\n\x92\x01\xc3\xa9", {}, 8));
  has(bad, "not valid JSON");
  CHECK(bad.find('\n') == std::string::npos);
  CHECK(bad.find('\x92') == std::string::npos);
  CHECK(bad.find('\x01') == std::string::npos);
  has(format_error(join(std::string(600, '[') + std::string(600, ']'), {}, 1200)), "nested deeper");

  // Offsets: overlapping, a hole, past the end, reversed; a huge or lying shape.
  has(format_error(container({{"a", dims({4}), 0, 16}, {"b", dims({4}), 8, 24}}, 24, base)), "overlaps");
  has(format_error(container({{"a", dims({4}), 0, 16}, {"b", dims({4}), 20, 36}}, 36, base)), "belong to no tensor");
  has(format_error(container({{"a", dims({4}), 0, 16}}, 20, base)), "the tensors end at byte 16 of 20");
  has(format_error(container({{"a", dims({4}), 0, 16}}, 8, base)), "run past");
  has(format_error(container({{"a", dims({0}), 16, 0}}, 16, base)), "data_offsets");
  has(format_error(container({{"a", dims({4}), 0, -16}}, 16, base)), "data_offsets");
  has(format_error(container({{"a", dims({int64_t(1) << 62, int64_t(1) << 62}), 0, 16}}, 16, base)), "too large");
  has(format_error(container({{"a", dims({uint64_t(1) << 40}), 0, 16}}, 16, base)), "needs more than 16 bytes");
  has(format_error(container({{"a", dims({UINT64_MAX, 0}), 0, 0}}, 0, base)), "bad shape");
  has(format_error(container({{"a", dims({-1}), 0, 0}}, 0, base)), "bad shape");
  has(format_error(container({{"a", dims({2.0}), 0, 8}}, 8, base)), "bad shape");
  has(format_error(container({{"a", dims({3}), 0, 16}}, 16, base)), "needs 12 bytes");
  has(format_error(container({{"a", json::array(), 0, 4}, {"b", json(std::vector<int>(65, 1)), 4, 8}}, 8, base)),
      "at most 64");

  Parts q = split(base);
  q.top["conv1.weight"]["dtype"] = "BF16";
  has(format_error(join(q)), "unsupported dtype \"BF16\"");
  q = split(base);
  q.top["conv1.weight"] = 5;
  has(format_error(join(q)), "not described by an object");
  q = split(base);
  q.top["conv1.weight"].erase("data_offsets");
  has(format_error(join(q)), "data_offsets");

  // Metadata: absent, no dirnet entry, not strings, too large.
  q = split(base);
  q.top.erase("__metadata__");
  has(format_error(join(q)), "without a dirnet header");
  q = split(base);
  q.top["__metadata__"] = {{"other", "x"}};
  has(format_error(join(q)), "without a dirnet header");
  q = split(base);
  q.top["__metadata__"]["dirnet"] = 1;
  has(format_error(join(q)), "not a string");
  q = split(base);
  q.top["__metadata__"]["dirnet"] = std::string(16 * 1024 * 1024 + 1, ' ');
  has(format_error(join(q)), "too large");
  q = split(base);
  q.top["__metadata__"]["dirnet"] = "{\"format\": ";
  has(format_error(join(q)), "dirnet header is not valid JSON");
  q = split(base);
  q.top["__metadata__"]["dirnet"] = std::string(100000, '[');
  has(format_error(join(q)), "nested deeper");
}

TEST_CASE("16 Mi code points of dirnet header are allowed, as Python counts them") {
  // 2-byte UTF-8 characters: 32 MiB of bytes, but within the limit.
  const Bytes base = slurp(fixture("resnet8_fp32.dbnn"));
  const Bytes b = with_header(base, [](json& h) {
    std::string pad;
    const size_t room = 16 * 1024 * 1024 - h.dump().size() - 40;
    pad.reserve(2 * room);
    for (size_t i = 0; i < room / 7; ++i) pad += "\xc3\xa9";  // dumped as itself, one code point
    h["pad"] = pad;
  });
  CHECK_NOTHROW(load(b));
}

TEST_CASE("the dirnet header schema, as fileformat.check_header") {
  const Bytes base = slurp(fixture("mixed_fp32.dbnn"));
  const json good = load(base).header;
  struct Case {
    std::function<void(json&)> edit;
    const char* message;
  };
  const std::vector<Case> cases = {
      {[](json& h) { h = json::array(); }, "header must be a JSON object"},
      {[](json& h) { h["format"] = "other"; }, "not a dirnet.dbnn file (format=\"other\")"},
      {[](json& h) { h.erase("format"); }, "not a dirnet.dbnn file (format=null)"},
      {[](json& h) { h["version"] = "1"; }, "version must be an integer"},
      {[](json& h) { h["version"] = true; }, "version must be an integer"},
      {[](json& h) { h["version"] = 1.0; }, "version must be an integer"},
      {[](json& h) { h["version"] = 2; }, "file format version 2 is newer than this dirnet supports (1)"},
      {[](json& h) { h["version"] = UINT64_MAX; }, "is newer than this dirnet supports"},
      {[](json& h) { h["version"] = 0; }, "bad format version 0"},
      {[](json& h) { h["precision"] = "bf16"; }, "precision must be 'fp16', 'fp32' or 'int8'"},
      {[](json& h) { h.erase("input"); }, "missing 'input' description"},
      {[](json& h) { h["input"]["channels"] = 0; }, "input channels must be an integer in [1, 65536]"},
      {[](json& h) { h["input"]["channels"] = 65537; }, "input channels"},
      {[](json& h) { h["input"]["channels"] = 3.0; }, "input channels"},
      {[](json& h) { h["input"]["size_hint"] = {3, 16}; }, "input size_hint must be [C, H, W] or null"},
      {[](json& h) { h["input"]["size_hint"] = {3, 0, 16}; }, "size_hint"},
      {[](json& h) { h["input"]["size_hint"] = {3, true, 16}; }, "size_hint"},
      {[](json& h) { h["class_names"] = {"a", 1}; }, "class_names must be a list of strings or null"},
      {[](json& h) { h["graph"] = json::array(); }, "graph must be a non-empty list of ops"},
      {[](json& h) { h["graph"] = json::object(); }, "graph must be a non-empty list"},
      {[](json& h) { h["graph"][1] = 3; }, "graph op 1 is not an object"},
      {[](json& h) { h["graph"][2].erase("op"); }, "graph op 2 has no 'op' type"},
      {[](json& h) { h["graph"][2]["name"] = 5; }, "graph op 2 has no name"},
      {[](json& h) { h["graph"][2]["inputs"] = {"v1", 2}; }, "'inputs' must be a list of value names"},
      {[](json& h) { h["graph"][2]["inputs"] = "v1"; }, "'inputs' must be a list"},
      {[](json& h) { h["graph"][2].erase("output"); }, ": no output name"},
      {[](json& h) { h["graph"][2]["attrs"] = nullptr; }, "graph op 2: 'attrs' must be an object"},
      {[](json& h) { h["graph"][2]["tensors"] = json::array(); }, "graph op 2: 'tensors' must be an object"},
      {[](json& h) { h.erase("output"); }, "missing graph output"},
      {[](json& h) { h["output"] = 3; }, "missing graph output"},
      {[](json& h) { h["outputs"] = json::array(); }, "'outputs' must be a non-empty list"},
      {[](json& h) { h["outputs"] = {{{"name", "y"}}}; }, "'outputs' must be"},
      {[](json& h) { h["outputs"] = {{{"name", "y"}, {"value", 3}}}; }, "'outputs' must be"},
      {[](json& h) { h["outputs"] = "v1"; }, "'outputs' must be"},
      {[](json& h) {
         h["outputs"] = {{{"name", "y"}, {"value", "v1"}}};
         h["output"] = 1;
       },
       "graph output must be a value name"},
      {[](json& h) { h["tensors_sha256"] = "abc"; }, "tensors_sha256 must be 64 hex digits"},
      {[](json& h) { h["tensors_sha256"] = 5; }, "tensors_sha256 must be 64 hex digits"},
      {[](json& h) { h["tensors_sha256"] = std::string(64, '0'); }, "tensor data checksum mismatch"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(i);
    const std::string msg = format_error(with_header(base, cases[i].edit));
    CHECK_MESSAGE(msg.find(cases[i].message) != std::string::npos, msg);
    CHECK_MESSAGE(msg.rfind("t.dbnn: ", 0) == 0, msg);
  }
  const size_t schema_only = cases.size() - 3;  // the checksum cases need the file
  for (size_t i = 0; i < schema_only; ++i) {
    json h = good;
    cases[i].edit(h);
    CHECK_THROWS_AS(dirnet::check_header(h, "h"), FormatError);
  }
}

TEST_CASE("accepted header variants") {
  const Bytes base = slurp(fixture("mixed_fp32.dbnn"));
  const std::vector<std::function<void(json&)>> edits = {
      [](json& h) { h["input"]["size_hint"] = nullptr; },
      [](json& h) { h["input"].erase("size_hint"); },
      [](json& h) { h["class_names"] = {"a", "b"}; },
      [](json& h) { h.erase("class_names"); },
      [](json& h) { h["graph"][2].erase("attrs"); },
      [](json& h) { h["graph"][2].erase("tensors"); },
      [](json& h) { h["future_key"] = {{"anything", 1}}; },
      [](json& h) { h["input"]["channels"] = 65536; },
      // Multi-output graphs: "outputs" in place of or beside "output".
      [](json& h) {
        h["outputs"] = {{{"name", "logits"}, {"value", h["output"]}}, {{"name", "0"}, {"value", "v1"}}};
        h.erase("output");
      },
      [](json& h) { h["outputs"] = {{{"name", "logits"}, {"value", h["output"]}}}; },
      [](json& h) { h["outputs"] = nullptr; },
      [](json& h) {  // upper-case hex is the same sum (Python lower()s it)
        std::string s = h["tensors_sha256"];
        for (char& c : s) c = char(std::toupper(c));
        h["tensors_sha256"] = s;
      },
      [](json& h) { h.erase("tensors_sha256"); },
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    CAPTURE(i);
    CHECK_NOTHROW(load(with_header(base, edits[i])));
  }
}

TEST_CASE("a changed tensor byte is a checksum mismatch") {
  Bytes b = slurp(fixture("resnet8_fp16.dbnn"));
  b[b.size() - 1] ^= 0x10;
  CHECK(format_error(b) == "t.dbnn: tensor data checksum mismatch: the file is corrupted");
}

// ------------------------------------------------------------------ fuzz

namespace {

struct Outcome {
  size_t loaded = 0, refused = 0;
};

// Loads a corrupted buffer: it must load or raise FormatError/IoError with a
// one-line message naming the file; anything else fails the test.
bool try_load(const Bytes& b, Outcome& o) {
  try {
    load(b, "fuzz.dbnn");
    ++o.loaded;
    return true;
  } catch (const FormatError& e) {
    const std::string msg = e.what();
    if (msg.find('\n') != std::string::npos || msg.rfind("fuzz.dbnn", 0) != 0) FAIL("bad message: " << msg);
    ++o.refused;
  } catch (const IoError&) {
    ++o.refused;
  }
  return false;
}

size_t data_start(const Bytes& b) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | b[i];
  return size_t(8 + n);
}

}  // namespace

TEST_CASE("fuzz: truncated, bit-flipped and garbage files never crash the loader") {
  const auto t0 = std::chrono::steady_clock::now();
  std::mt19937_64 rng(20240601);
  Outcome total;
  for (const std::string model : {"resnet8_fp32", "resnet8_fp16", "mixed_fp32", "mixed_fp16", "names", "legacy_nosum"}) {
    CAPTURE(model);
    const Bytes base = slurp(fixture(model + ".dbnn"));
    const size_t data_at = data_start(base);
    Outcome o;

    // Every truncation inside the header, a stride through the data.
    for (size_t len = 0; len < base.size(); len += len < data_at + 64 ? 1 : 97) {
      CHECK_FALSE(try_load(Bytes(base.begin(), base.begin() + long(len)), o));
    }
    // Single-byte changes: anywhere, then inside the tensor data, where the
    // checksum must catch every one (except in the sum-less legacy file).
    for (int i = 0; i < 1500; ++i) {
      Bytes b = base;
      const size_t at = rng() % b.size();
      b[at] ^= (unsigned char)(1 + rng() % 255);
      const bool ok = try_load(b, o);
      if (ok && at >= data_at && model != "legacy_nosum")
        FAIL("a changed data byte at " << at << " loaded");
    }
    // Several bytes at once, and runs of garbage over the header.
    for (int i = 0; i < 300; ++i) {
      Bytes b = base;
      for (int k = 0; k < 8; ++k) b[rng() % b.size()] = (unsigned char)rng();
      try_load(b, o);
      Bytes g = base;
      const size_t at = rng() % std::min(g.size(), data_at + 16);
      for (size_t k = at; k < std::min(g.size(), at + 1 + rng() % 64); ++k) g[k] = (unsigned char)rng();
      try_load(g, o);
    }
    // Header lengths that lie (near the truth, and far from it).
    for (int64_t delta : {-1000, -9, -2, -1, 1, 2, 9, 1000}) {
      Bytes b = base;
      const uint64_t n = uint64_t(int64_t(data_at - 8) + delta);
      for (int k = 0; k < 8; ++k) b[k] = (unsigned char)(n >> (8 * k));
      CHECK_FALSE(try_load(b, o));
    }
    for (int i = 0; i < 50; ++i) {
      Bytes b = base;
      const uint64_t n = rng();
      for (int k = 0; k < 8; ++k) b[k] = (unsigned char)(n >> (8 * k));
      CHECK_FALSE(try_load(b, o));
    }
    MESSAGE(model << ": " << o.refused << " refused, " << o.loaded << " loaded");
    CHECK(o.refused > 0);
    total.loaded += o.loaded;
    total.refused += o.refused;
  }
  // Pure garbage, with and without a plausible header length.
  for (int i = 0; i < 500; ++i) {
    Bytes b(rng() % 4096);
    for (auto& c : b) c = (unsigned char)rng();
    if (b.size() >= 8 && i % 2) {
      const uint64_t n = rng() % (b.size() - 7);
      for (int k = 0; k < 8; ++k) b[k] = (unsigned char)(n >> (8 * k));
      b[8 % b.size()] = '{';
    }
    CHECK_FALSE(try_load(b, total));
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("fuzz: " << total.refused << " refused, " << total.loaded << " loaded in " << s << " s");
}
