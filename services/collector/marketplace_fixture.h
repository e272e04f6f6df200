// Test support for the collector's integration tests: a real marketplace (the marketplace service library
// over a small generated world, served on a free loopback port) and a migrated test database.
#ifndef MARKETLENS_SERVICES_COLLECTOR_MARKETPLACE_FIXTURE_H_
#define MARKETLENS_SERVICES_COLLECTOR_MARKETPLACE_FIXTURE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/postgres/pool.h"
#include "common/testing/postgres_fixture.h"
#include "grpcpp/grpcpp.h"
#include "services/marketplace/generator.h"
#include "services/marketplace/marketplace_service.h"
#include "services/marketplace/world.h"

namespace marketlens::collector::testing {

struct MarketplaceOptions {
  int products = 30;
  uint64_t seed = 7;
  marketplace::ServiceOptions service;  // rate limit and faults
};

// Rate limit off and no faults (tests that do not test politeness or faults).
marketplace::ServiceOptions OpenService();

class Marketplace {
 public:
  static absl::StatusOr<std::unique_ptr<Marketplace>> Start(MarketplaceOptions options);
  ~Marketplace();

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  marketplace::World& world() { return *world_; }
  const std::shared_ptr<const marketplace::PlantedModel>& model() const { return model_; }
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

 private:
  Marketplace() = default;
  std::unique_ptr<marketplace::World> world_;
  std::shared_ptr<const marketplace::PlantedModel> model_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<marketplace::MarketplaceServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// A counter's value in a registry ("name" with all labels summed), 0 when absent.
double CounterValue(prometheus::Registry& registry, const std::string& name);

}  // namespace marketlens::collector::testing

#endif  // MARKETLENS_SERVICES_COLLECTOR_MARKETPLACE_FIXTURE_H_
