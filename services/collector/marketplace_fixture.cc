#include "services/collector/marketplace_fixture.h"

#include "common/status/macros.h"
#include "prometheus/registry.h"

namespace marketlens::collector::testing {

marketplace::ServiceOptions OpenService() {
  marketplace::ServiceOptions o;
  o.rate_limit_rps = 0;
  o.faults = marketplace::FaultConfig::None();
  o.fault_seed = 1;
  return o;
}

absl::StatusOr<std::unique_ptr<Marketplace>> Marketplace::Start(MarketplaceOptions options) {
  marketplace::GeneratorOptions g;
  g.products = options.products;
  g.seed = options.seed;
  ASSIGN_OR_RETURN(auto generated, marketplace::Generate(g));
  std::unique_ptr<Marketplace> m(new Marketplace());
  m->model_ = generated.model;
  ASSIGN_OR_RETURN(auto world, marketplace::World::Create(std::move(generated.data)));
  m->world_ = std::move(world);
  m->registry_ = std::make_shared<prometheus::Registry>();
  options.service.registry = m->registry_;
  m->service_ = std::make_unique<marketplace::MarketplaceServiceImpl>(m->world_.get(), options.service);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &m->port_);
  builder.RegisterService(m->service_.get());
  m->server_ = builder.BuildAndStart();
  if (m->server_ == nullptr || m->port_ == 0) return absl::UnavailableError("cannot start the marketplace");
  return m;
}

Marketplace::~Marketplace() {
  if (server_ != nullptr) server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
}

double CounterValue(prometheus::Registry& registry, const std::string& name) {
  double total = 0;
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) total += metric.counter.value;
  }
  return total;
}

}  // namespace marketlens::collector::testing
