#include "services/collector/collector_service.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/logging/log.h"
#include "services/collector/person_data.h"
#include "services/collector/workbook_ingest.h"
#include "services/collector/xlsx_reader.h"

namespace marketlens::collector {
namespace {

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t us = absl::ToUnixMicros(t);
  out->set_seconds(us / 1000000);
  out->set_nanos(static_cast<int32_t>((us % 1000000) * 1000));
}

cv1::CrawlState StateOf(const std::string& s) {
  if (s == "pending") return cv1::CRAWL_STATE_PENDING;
  if (s == "running") return cv1::CRAWL_STATE_RUNNING;
  if (s == "succeeded") return cv1::CRAWL_STATE_SUCCEEDED;
  if (s == "failed") return cv1::CRAWL_STATE_FAILED;
  if (s == "cancelled") return cv1::CRAWL_STATE_CANCELLED;
  return cv1::CRAWL_STATE_UNSPECIFIED;
}

void FillOneReport(const IngestResult& r, cv1::IngestReport* report) {
  report->set_file_id(r.file_id);
  report->set_kind(r.kind);
  report->set_sheet(r.sheet);
  report->set_rows(r.rows);
  report->set_accepted(r.accepted);
  report->set_rejected(r.rejected);
  report->set_duplicates(r.duplicates);
  report->set_erased_subject(r.erased_subject);
  report->set_bytes(r.bytes);
  report->set_sha256(r.sha256);
  for (const std::string& c : r.ignored_columns) report->add_ignored_columns(c);
  for (const std::string& n : r.notes) report->add_notes(n);
  for (const IngestRejectInfo& x : r.rejects) {
    cv1::IngestReject* reject = report->add_rejects();
    reject->set_line(x.line);
    reject->set_column(x.column);
    reject->set_reason(x.reason);
  }
}

// One CSV file: its report. A workbook: the ingested sheets' reports in `sheets`, their sums on top.
void FillIngestReport(const std::vector<SheetOutcome>& outcomes, cv1::IngestReport* report) {
  const bool workbook = outcomes.size() != 1 || !outcomes[0].sheet.empty();
  if (!workbook) {
    FillOneReport(*outcomes[0].result, report);
    return;
  }
  for (const SheetOutcome& o : outcomes) {
    if (!o.result.ok()) continue;
    cv1::IngestReport* sheet = report->add_sheets();
    FillOneReport(*o.result, sheet);
    report->set_rows(report->rows() + sheet->rows());
    report->set_accepted(report->accepted() + sheet->accepted());
    report->set_rejected(report->rejected() + sheet->rejected());
    report->set_duplicates(report->duplicates() + sheet->duplicates());
    report->set_erased_subject(report->erased_subject() + sheet->erased_subject());
    report->set_bytes(sheet->bytes());
    report->set_sha256(sheet->sha256());
  }
}

const char* KindName(cv1::IngestKind kind) {
  switch (kind) {
    case cv1::INGEST_KIND_CAMPAIGN_POSTS:
      return "campaign_posts";
    case cv1::INGEST_KIND_CONTACTS:
      return "contacts";
    case cv1::INGEST_KIND_INTERACTIONS:
      return "interactions";
    case cv1::INGEST_KIND_CUSTOMERS:
      return "customers";
    case cv1::INGEST_KIND_DISCUSSED_PRODUCTS:
      return "discussed_products";
    default:
      return nullptr;
  }
}

std::string EncodeListToken(const CrawlRow& last) {
  return absl::WebSafeBase64Escape(absl::StrCat(absl::ToUnixMicros(last.started_at), ":", last.id));
}

absl::StatusOr<std::pair<absl::Time, std::string>> DecodeListToken(const std::string& token) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) return absl::InvalidArgumentError("page_token is not valid");
  std::pair<std::string, std::string> parts = absl::StrSplit(raw, absl::MaxSplits(':', 1));
  int64_t us = 0;
  if (!absl::SimpleAtoi(parts.first, &us) || !IsUuid(parts.second)) {
    return absl::InvalidArgumentError("page_token is not valid");
  }
  return std::make_pair(absl::FromUnixMicros(us), parts.second);
}

}  // namespace

CollectorServiceImpl::CollectorServiceImpl(postgres::PgPool* pool, CrawlManager* crawler,
                                           IngestOptions ingest_options, CollectorMetrics* metrics)
    : pool_(pool), crawler_(crawler), ingest_options_(std::move(ingest_options)), metrics_(metrics) {}

grpc::Status CollectorServiceImpl::FillCrawl(const CrawlRow& row, cv1::Crawl* out) {
  out->set_id(row.id);
  out->set_mode(row.mode == "full" ? cv1::CRAWL_MODE_FULL : cv1::CRAWL_MODE_INCREMENTAL);
  out->set_state(StateOf(row.state));
  SetTime(row.started_at, out->mutable_started_at());
  if (row.finished_at.has_value()) SetTime(*row.finished_at, out->mutable_finished_at());
  out->set_pages(row.pages);
  out->set_items(row.items);
  out->set_retries(row.retries);
  out->set_errors(row.errors);
  out->set_last_error(row.last_error);
  out->set_rate_limited(row.rate_limited);
  out->set_resumes(row.resumes);
  absl::StatusOr<std::vector<CheckpointRow>> cps = crawler_->store().GetCheckpoints(row.id);
  if (!cps.ok()) return ToGrpc(cps.status());
  for (const CheckpointRow& cp : *cps) {
    cv1::ResourceProgress* p = out->add_resources();
    p->set_resource(cp.resource);
    p->set_pages(cp.pages);
    p->set_items(cp.items);
    p->set_done(cp.done);
    p->set_expected_items(cp.expected_items);
    if (cp.since.has_value()) SetTime(*cp.since, p->mutable_since());
    p->set_error(cp.error);
  }
  if (row.state == "running" || row.state == "pending") {
    out->set_eta_seconds(
        cps->empty() ? -1
                     : EstimateEtaSeconds(*cps, crawler_->rate_per_second(), crawler_->options().page_size));
  } else {
    out->set_eta_seconds(0);
  }
  return grpc::Status::OK;
}

grpc::Status CollectorServiceImpl::StartCrawl(grpc::ServerContext*, const cv1::StartCrawlRequest* request,
                                              cv1::Crawl* response) {
  if (crawler_ == nullptr) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "crawling is not configured");
  std::vector<std::string> resources(request->resources().begin(), request->resources().end());
  const std::string mode = request->mode() == cv1::CRAWL_MODE_FULL ? "full" : "incremental";
  absl::StatusOr<CrawlRow> row = crawler_->StartCrawl(mode, resources);
  if (!row.ok()) return ToGrpc(row.status());
  return FillCrawl(*row, response);
}

grpc::Status CollectorServiceImpl::GetCrawl(grpc::ServerContext*, const cv1::GetCrawlRequest* request,
                                            cv1::Crawl* response) {
  if (crawler_ == nullptr) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "crawling is not configured");
  absl::StatusOr<CrawlRow> row = crawler_->store().GetCrawl(request->crawl_id());
  if (!row.ok()) return ToGrpc(row.status());
  return FillCrawl(*row, response);
}

grpc::Status CollectorServiceImpl::ListCrawls(grpc::ServerContext*, const cv1::ListCrawlsRequest* request,
                                              cv1::ListCrawlsResponse* response) {
  if (crawler_ == nullptr) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "crawling is not configured");
  const int size = request->page_size() == 0 ? 20 : request->page_size();
  if (size < 1 || size > 100) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "page_size must be 1..100");
  }
  std::optional<std::pair<absl::Time, std::string>> after;
  if (!request->page_token().empty()) {
    auto decoded = DecodeListToken(request->page_token());
    if (!decoded.ok()) return ToGrpc(decoded.status());
    after = *decoded;
  }
  absl::StatusOr<std::vector<CrawlRow>> rows = crawler_->store().ListCrawls(size + 1, after);
  if (!rows.ok()) return ToGrpc(rows.status());
  const bool more = static_cast<int>(rows->size()) > size;
  if (more) rows->pop_back();
  for (const CrawlRow& row : *rows) {
    if (grpc::Status s = FillCrawl(row, response->add_crawls()); !s.ok()) return s;
  }
  if (more) response->set_next_page_token(EncodeListToken(rows->back()));
  return grpc::Status::OK;
}

grpc::Status CollectorServiceImpl::CancelCrawl(grpc::ServerContext*, const cv1::CancelCrawlRequest* request,
                                               cv1::Crawl* response) {
  if (crawler_ == nullptr) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "crawling is not configured");
  absl::StatusOr<CrawlRow> row = crawler_->CancelCrawl(request->crawl_id());
  if (!row.ok()) return ToGrpc(row.status());
  return FillCrawl(*row, response);
}

grpc::Status CollectorServiceImpl::IngestFile(grpc::ServerContext* context,
                                              grpc::ServerReader<cv1::IngestFileChunk>* reader,
                                              cv1::IngestReport* response) {
  cv1::IngestFileChunk first;
  if (!reader->Read(&first)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "empty stream: the first chunk must carry the header");
  }
  const char* kind = KindName(first.header().kind());
  if (kind == nullptr && first.header().kind() != cv1::INGEST_KIND_UNSPECIFIED) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "the first chunk's header.kind is not a known kind");
  }
  WorkbookOptions options;
  options.ingest = ingest_options_;
  options.kind = kind == nullptr ? "" : kind;
  auto order = ParseDayMonthOrder(first.header().date_order());
  if (!order.ok()) return ToGrpc(order.status());
  options.ingest.dates.order = *order;
  for (const std::string& mapping : first.header().sheets()) {
    if (absl::Status st = ParseSheetMapping(mapping, &options.sheet_kinds); !st.ok()) return ToGrpc(st);
  }
  std::string pending = std::move(*first.mutable_data());
  cv1::IngestFileChunk next;
  bool ended = false;
  while (pending.empty() && !ended) {  // the first bytes tell CSV from a workbook
    if (!reader->Read(&next)) {
      ended = true;
    } else if (next.has_header()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "only the first chunk may carry a header");
    } else {
      pending = std::move(*next.mutable_data());
    }
  }
  bool first_served = false;
  int64_t received = 0;
  const int64_t max_bytes = ingest_options_.max_file_bytes;
  // The file's bytes as they come; past max_file_bytes an error, so that neither spool grows unbounded.
  auto counted = [&](std::string* chunk) -> absl::StatusOr<bool> {
    received += static_cast<int64_t>(chunk->size());
    if (max_bytes > 0 && received > max_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat("the file is larger than ", max_bytes,
                                                       " bytes, the collector's limit "
                                                       "(--max_ingest_file_bytes)"));
    }
    return true;
  };
  ChunkSource source = [&](std::string* chunk) -> absl::StatusOr<bool> {
    if (!first_served) {
      first_served = true;
      if (!pending.empty()) {
        *chunk = std::move(pending);
        return counted(chunk);
      }
    }
    for (;;) {
      if (ended || !reader->Read(&next)) {
        ended = true;
        if (context->IsCancelled()) return absl::CancelledError("the client cancelled the upload");
        return false;
      }
      if (next.has_header()) return absl::InvalidArgumentError("only the first chunk may carry a header");
      if (next.data().empty()) continue;
      *chunk = std::move(*next.mutable_data());
      return counted(chunk);
    }
  };
  std::vector<SheetOutcome> outcomes;
  if (kind != nullptr && !LooksLikeZip(pending) && options.sheet_kinds.empty()) {
    // CSV of a known kind: parsed as it streams in.
    outcomes.push_back(SheetOutcome{
        "", IngestCsv(*pool_, *FindKind(kind), first.header().filename(), source, options.ingest)});
  } else {
    // A workbook (a zip needs random access) or a file whose kind its header must show: spooled first.
    absl::StatusOr<std::vector<SheetOutcome>> spooled =
        IngestSpooled(*pool_, first.header().filename(), source, options);
    if (!spooled.ok()) return ToGrpc(spooled.status());
    outcomes = *std::move(spooled);
  }
  bool any_ingested = false;
  absl::Status first_failure;
  for (const SheetOutcome& o : outcomes) {
    if (!o.result.ok()) {
      if (!o.skipped) {
        metrics_->ingest_files(options.kind.empty() ? "unknown" : options.kind, "failed").Increment();
        if (first_failure.ok()) first_failure = o.result.status();
      }
      response->add_skipped_sheets(o.Line());
      continue;
    }
    any_ingested = true;
    const IngestResult& r = *o.result;
    metrics_->ingest_files(r.kind, "succeeded").Increment();
    metrics_->ingest_rows(r.kind, "accepted").Increment(static_cast<double>(r.accepted));
    metrics_->ingest_rows(r.kind, "rejected").Increment(static_cast<double>(r.rejected));
    metrics_->ingest_rows(r.kind, "duplicate").Increment(static_cast<double>(r.duplicates));
    metrics_->ingest_rows(r.kind, "erased_subject").Increment(static_cast<double>(r.erased_subject));
  }
  if (!any_ingested) {
    if (!first_failure.ok()) return ToGrpc(first_failure);
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        outcomes.empty() ? "the workbook has no sheets"
                                         : absl::StrCat("no sheet was ingested: ", outcomes[0].Line()));
  }
  FillIngestReport(outcomes, response);
  return grpc::Status::OK;
}

// ---- Read views (dashboard_queries.h) ----

namespace {

// What is left of the caller's deadline (zero: none, the queries' default applies).
absl::Duration TimeLeft(const grpc::ServerContext* context) {
  const auto deadline = context->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::ZeroDuration();
  const absl::Duration left = absl::FromChrono(deadline) - absl::Now();
  return left > absl::ZeroDuration() ? left : absl::Nanoseconds(1);
}

template <typename T>
grpc::Status Answer(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpc(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status CollectorServiceImpl::ListPriceHistory(grpc::ServerContext* context,
                                                    const cv1::ListPriceHistoryRequest* request,
                                                    cv1::ListPriceHistoryResponse* response) {
  return Answer(dashboard_.ListPriceHistory(*request, TimeLeft(context)), response);
}

grpc::Status CollectorServiceImpl::ListShoppers(grpc::ServerContext* context,
                                                const cv1::ListShoppersRequest* request,
                                                cv1::ListShoppersResponse* response) {
  return Answer(dashboard_.ListShoppers(*request, TimeLeft(context)), response);
}

grpc::Status CollectorServiceImpl::ListCampaigns(grpc::ServerContext* context,
                                                 const cv1::ListCampaignsRequest* request,
                                                 cv1::ListCampaignsResponse* response) {
  return Answer(dashboard_.ListCampaigns(*request, TimeLeft(context)), response);
}

grpc::Status CollectorServiceImpl::EraseUser(grpc::ServerContext*,
                                             const privacy::v1::EraseUserRequest* request,
                                             privacy::v1::EraseUserResponse* response) {
  auto erased = ErasePerson(*pool_, request->user_id());
  if (!erased.ok()) return ToGrpc(erased.status());
  *response = *std::move(erased);
  // The job's id only: the person's id stays out of the logs.
  logging::Info("person erased", {{"erasure_id", request->erasure_id()}});
  return grpc::Status::OK;
}

grpc::Status CollectorServiceImpl::ExportUser(grpc::ServerContext*,
                                              const privacy::v1::ExportUserRequest* request,
                                              privacy::v1::ExportUserResponse* response) {
  auto exported = ExportPerson(*pool_, request->user_id());
  if (!exported.ok()) return ToGrpc(exported.status());
  *response = *std::move(exported);
  return grpc::Status::OK;
}

}  // namespace marketlens::collector
