FROM composer:2 AS vendor
WORKDIR /app
COPY composer.json composer.lock ./
RUN --mount=type=bind,source=database,target=/app/database composer install --no-dev --no-scripts --prefer-dist

FROM php:8.3-fpm-alpine
COPY --from=vers/tools:latest /usr/bin/install-php-extensions /usr/local/bin/
RUN install-php-extensions pdo_mysql opcache
WORKDIR /var/www/html
COPY --from=vendor /app/vendor/ ./vendor/
COPY . .
ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/tini /tini
STOPSIGNAL SIGQUIT
EXPOSE 9000
