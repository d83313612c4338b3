ARG RUBY_VERSION=3.3.5
FROM ruby:$RUBY_VERSION-slim AS base
WORKDIR /rails
ENV RAILS_ENV="production" BUNDLE_DEPLOYMENT="1" BUNDLE_PATH="/usr/local/bundle"

FROM base AS build
RUN apt-get update -qq && apt-get install --no-install-recommends -y build-essential git
COPY Gemfile Gemfile.lock ./
RUN --mount=type=secret,id=bundle_token,env=BUNDLE_GITHUB__COM bundle install
COPY . .
RUN --mount=type=secret,id=master_key,target=/rails/config/master.key ./bin/rails assets:precompile

FROM base
COPY --from=build "${BUNDLE_PATH}" "${BUNDLE_PATH}"
COPY --from=build /rails /rails
RUN useradd rails --create-home --shell /bin/bash
USER 1000:1000
EXPOSE 3000
CMD ["./bin/thrust", "./bin/rails", "server"]
